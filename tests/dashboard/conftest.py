"""A fixture store for the dashboard: three projects (one named like an attack), tags,
statuses, months, a timeline and windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.records.store_helpers import (
    BACKENDS,
    Target,
    backend_target,
    make_run,
    make_timeline,
)
from wattprint.records.store import RunStore

EVIL = "<script>alert(1)</script>"


def _run(run_id: str, project: str, day: str, kwh: float, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "project": project,
        "started_at": f"{day}T10:00:00.000Z",
        "ended_at": f"{day}T10:00:10.000Z",
        "energy_kwh": kwh,
        "co2_kg": kwh * 1.1 * 0.4,
    }
    fields.update(kw)
    return make_run(run_id, **fields)


RUNS = [
    _run("run-a1-000001", "vision", "2026-01-05", 0.010, tags=("baseline",)),
    _run("run-a2-000002", "vision", "2026-02-10", 0.020, tags=("fp16",)),
    _run("run-b1-000003", "nlp", "2026-02-11", 0.005, tags=("baseline",), status="failed"),
    _run("run-c1-000004", EVIL, "2026-03-01", 0.001, tags=(EVIL,), experiment=EVIL),
    _run("run-d1-000005", "nlp", "2026-03-02", 0.002, zone=None, co2_kg=None),
]


def fill(target: Target) -> Target:
    with RunStore(target) as store:
        for run in RUNS:
            store.finish(run, make_timeline(60))
    return target


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = fill(tmp_path / "runs.sqlite3")
    assert isinstance(path, Path)
    return path


@pytest.fixture(params=BACKENDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """The same runs, in a SQLite file or on a real PostgreSQL."""
    return fill(backend_target(request, tmp_path))
