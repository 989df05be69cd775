"""Checks that a record can be written where asked, made before the user's code runs.

Plain ``os`` calls on purpose: they run while a Tracker is created, so they import nothing
(no pathlib, tempfile or sqlite3). Each probes by doing what the later write will do rather
than by permission bits, which root ignores.
"""

from __future__ import annotations

import os

from wattprint.errors import ConfigError, StoreError

STORE_HINT = "give a writable file path (--db PATH, or the db setting)"


def _probe_dir(directory: str) -> None:
    """Create and remove a file in ``directory`` (OSError if that cannot be done)."""
    probe = os.path.join(directory, f".wattprint-probe-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.unlink(probe)


def check_output_path(path: str | os.PathLike[str], what: str = "") -> None:
    """Raise ConfigError now if a file could not be written at ``path`` later (after a run).
    ``what`` prefixes the message, e.g. the CLI flag."""
    p = os.fspath(path)
    label = f"{what} {p}" if what else p
    if not p:
        raise ConfigError(f"{what or 'the path'} is empty; give a file path, e.g. run.json")
    parent = os.path.dirname(p) or "."
    if os.path.isdir(p):
        raise ConfigError(f"{label} is a directory; give a file path, e.g. {p}/run.json")
    if not os.path.isdir(parent):
        raise ConfigError(
            f"{label}: directory {parent} does not exist; create it or choose another path"
        )
    if not os.access(parent, os.W_OK) or (os.path.exists(p) and not os.access(p, os.W_OK)):
        raise ConfigError(f"{label} is not writable; choose another path")


def check_store_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`StoreError` unless the store at ``path`` can be created and written:
    creates missing parent directories, a file beside the database (as its WAL will be), and
    opens an existing database for writing."""
    p = os.path.expanduser(os.fspath(path))
    where = f"cannot write the run database {p}"
    if os.path.isdir(p):
        raise StoreError(f"{where}: it is a directory; {STORE_HINT}")
    parent = os.path.dirname(os.path.abspath(p))
    ancestor = parent
    while not os.path.exists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise StoreError(f"{where}: {ancestor} is not a directory; {STORE_HINT}")
    try:
        os.makedirs(parent, exist_ok=True)
        _probe_dir(parent)
        if os.path.exists(p):
            os.close(os.open(p, os.O_RDWR))
    except OSError as exc:
        raise StoreError(f"{where}: {exc.strerror or exc}; {STORE_HINT}") from exc
