"""Bundled data files (see NOTICE for sources and licences)."""
