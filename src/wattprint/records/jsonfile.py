"""The run record as a JSON file, written atomically (checked before the run: records/paths.py)."""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.records.run import Run


def write_json(run: Run, path: Path) -> None:
    """Write the record atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(run.to_json() + "\n")
    os.replace(tmp, path)
