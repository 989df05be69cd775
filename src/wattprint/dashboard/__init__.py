"""``wattprint dashboard``: a local, read-only web view of the run store (stdlib WSGI)."""
