"""The run record as a JSON file: checked before the run, written atomically after it."""

from __future__ import annotations

import os
from pathlib import Path

from wattprint.errors import ConfigError
from wattprint.records.run import Run


def check_output_path(path: Path, what: str = "") -> None:
    """Raise ConfigError now if a file could not be written at ``path`` later (after a run).
    ``what`` prefixes the message, e.g. the CLI flag."""
    label = f"{what} {path}" if what else str(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"{label} is a directory; give a file path, e.g. {path / 'run.json'}")
    if not parent.is_dir():
        raise ConfigError(
            f"{label}: directory {parent} does not exist; create it or choose another path"
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{label} is not writable; choose another path")


def check_json_path(path: Path) -> None:
    """Raise ConfigError now if the record could not be written there at stop()."""
    check_output_path(path)


def write_json(run: Run, path: Path) -> None:
    """Write the record atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(run.to_json() + "\n")
    os.replace(tmp, path)
