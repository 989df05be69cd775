"""What a run leaves behind: the record (run.py, built by build.py, checked by validate.py),
the run store (store.py, store_db.py, store_schema.py, recorder.py, signing.py), exports and
imports, and the path checks (paths.py)."""
