"""Runs for the store and signing tests, built directly (no tracker, no hardware)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wattprint
from wattprint.records.run import ComponentEnergy, Run, TimelineData, Window
from wattprint.records.store_pg import PgConn
from wattprint.records.store_sql import Conn

SRC_DIR = str(Path(wattprint.__file__).resolve().parents[1])
ROOT_DIR = str(Path(__file__).resolve().parents[2])  # for `import tests.records...`


def make_run(run_id: str = "run0001", **overrides: Any) -> Run:
    """A finished run with two components and a window; ``overrides`` replace fields."""
    cpu = ComponentEnergy(
        name="cpu",
        device="package-0",
        energy_kwh=0.002,
        method="rapl",
        provenance="measured",
        uncertainty_pct=5.0,
        gap_s=0.5,
        notes=("read at edges",),
        details={"domains": ["package-0", "dram"]},
    )
    ram = ComponentEnergy("ram", "16 GiB", 0.0005, "ram_model", "estimated", 40.0)
    fields: dict[str, Any] = {
        "run_id": run_id,
        "project": "demo",
        "started_at": "2024-05-01T12:00:00.000Z",
        "duration_s": 10.0,
        "energy_kwh": 0.0025,
        "co2_kg": 0.001,
        "zone": "DE",
        "intensity_g_per_kwh": 400.0,
        "intensity_source": "Ember, 2023",
        "pue": 1.1,
        "components": (cpu, ram),
        "scope": "process",
        "uncertainty_pct": 8.5,
        "windows": (
            Window("epoch 1", "2024-05-01T12:00:01.000Z", 4.0, 0.001, 0.0004, 7.0, (cpu,)),
        ),
        "warnings": ("generic CPU",),
        "wattprint_version": "0.1.0",
        "host": "node-1",
        "samples": 10,
        "ended_at": "2024-05-01T12:00:10.000Z",
        "experiment": "lr-sweep",
        "tags": ("baseline", "fp16"),
        "command": ("python", "train.py"),
        "exit_code": 0,
        "user": "ada",
        "git_commit": "abc123",
        "python_version": "3.11.7",
        "packages": {"torch": "2.3.0"},
    }
    fields.update(overrides)
    return Run(**fields)


def make_timeline(n: int = 5) -> TimelineData:
    t = tuple(float(i) for i in range(n))
    return TimelineData(
        t_s=t,
        energy_j={"cpu:package-0": tuple(3.5 * x for x in t), "ram": tuple(0.25 * x for x in t)},
    )


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SRC_DIR, ROOT_DIR, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env


PYTHON = sys.executable


# -- both engines ---------------------------------------------------------------------------
Target = Path | str  # a SQLite file, or a PostgreSQL URL

#: For ``@pytest.fixture(params=BACKENDS)``: every store test runs on both engines.
BACKENDS = ("sqlite", "postgresql")


def backend_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A new store of the engine ``request.param`` names: a file under ``tmp_path``, or a
    new database on the session's real PostgreSQL (tests/pg.py)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "data" / "runs.sqlite3"


def is_pg(target: object) -> bool:
    return isinstance(target, str) and target.startswith("postgresql://")


@contextlib.contextmanager
def raw(target: Target) -> Iterator[Conn]:
    """A plain connection, as another program (or a tamperer with the sqlite3 shell or psql)
    would open; both take the store's ``?`` placeholders."""
    if is_pg(target):
        import psycopg

        pg = psycopg.connect(str(target), autocommit=True)
        try:
            yield PgConn(pg)
        finally:
            pg.close()
        return
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()
