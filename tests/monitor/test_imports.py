"""The Prometheus client and the PostgreSQL driver stay out of the core paths: a Tracker and
`wattprint run` without --push import neither (they cost ~30 ms and ~20 ms to import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.monitor.test_prometheus import env

CHECK = """
import sys
import wattprint
from wattprint.cli import main
with wattprint.Tracker(project="p"):
    pass
code = main(["run", "--", "true"])
loaded = {"prometheus_client", "psycopg", "wattprint.monitor", "wattprint.records.store_pg"}
assert code == 0, code
assert not loaded & set(sys.modules), sorted(loaded & set(sys.modules))
"""


def test_the_core_paths_import_neither_prometheus_nor_psycopg(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-c", CHECK], env=env(tmp_path), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
