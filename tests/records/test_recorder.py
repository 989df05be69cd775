"""End to end: every run reaches the store, and a killed process leaves its run behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wattprint
from wattprint.records.store import RunStore

SRC = Path(__file__).resolve().parents[2] / "src"


def _env(tmp_path: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(
        PYTHONPATH=str(SRC),
        WATTPRINT_DB=str(db),
        WATTPRINT_CPU_TDP_W="100",
        WATTPRINT_POWERCAP_DIR=str(tmp_path / "no-powercap"),
    )
    return env


def _wait_for(predicate: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def _checkpointed(db: Path) -> bool:
    if not db.exists():
        return False
    with RunStore(db) as store:
        runs = store.list()
        return bool(runs) and runs[0].samples > 0 and runs[0].energy_kwh > 0


def test_a_run_is_stored_with_its_context(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    with wattprint.Tracker(
        project="p", experiment="e1", tags=["a", "b"], db=db, scope="machine"
    ) as tracker:
        sum(i * i for i in range(100_000))
    run = tracker.run
    assert run is not None and run.status == "finished"
    with RunStore(db) as store:
        stored = store.get(run.run_id[:8])
        assert stored.energy_kwh == pytest.approx(run.energy_kwh)
        assert stored.experiment == "e1" and stored.tags == ("a", "b")
        assert stored.python_version == ".".join(map(str, sys.version_info[:3]))
        assert stored.user and stored.ended_at
        timeline = store.timeline(run.run_id)
    assert timeline is not None and set(timeline.energy_j) >= {"cpu:" + run.components[0].device}


def test_an_exception_marks_the_run_failed(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    with pytest.raises(KeyError), wattprint.Tracker(db=db) as tracker:
        raise KeyError("x")
    with RunStore(db) as store:
        assert store.get(tracker.run.run_id).status == "failed"  # type: ignore[union-attr]


def test_recording_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "off.sqlite3"
    monkeypatch.setenv("WATTPRINT_DB", "off")
    wattprint.Tracker().start().stop()
    wattprint.Tracker(db=False).start().stop()
    assert not db.exists()


def test_an_explicit_unwritable_store_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(wattprint.WattprintError):
        wattprint.Tracker(db=tmp_path / "file" / "runs.sqlite3")


def test_a_default_store_that_cannot_be_written_only_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.delenv("WATTPRINT_DB")  # the default store: the user data directory's
    monkeypatch.setattr(
        "wattprint.records.store_db.default_db_path", lambda db=None: tmp_path / "file" / "x.db"
    )
    with pytest.warns(UserWarning, match="not recorded"):
        run = wattprint.Tracker(scope="machine").start().stop()
    assert run.energy_kwh >= 0


def test_sigkill_of_the_tracked_process_leaves_an_interrupted_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    code = (
        "import wattprint, time\n"
        "t = wattprint.Tracker(project='killed', interval_s=0.05, checkpoint_s=0.1).start()\n"
        "while True:\n"
        "    sum(i for i in range(10000))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=_env(tmp_path, db))
    try:
        _wait_for(lambda: _checkpointed(db))
        time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with RunStore(db) as store:
        (run,) = store.list(project="killed")
    assert run.status == "interrupted"
    assert run.energy_kwh > 0 and run.duration_s > 0.1


def test_sigkill_of_wattprint_run_leaves_an_interrupted_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    wp = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wattprint",
            "run",
            "--project",
            "wp",
            "--interval",
            "0.05",
            "--checkpoint",
            "0.1",
            "--",
            sys.executable,
            "-c",
            "while True: sum(range(10000))",
        ],
        env=_env(tmp_path, db),
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: _checkpointed(db))
    finally:
        os.killpg(wp.pid, signal.SIGKILL)  # wattprint and its command
        wp.wait()
    with RunStore(db) as store:
        (run,) = store.list(project="wp")
    assert run.status == "interrupted" and run.energy_kwh > 0
    assert run.command is not None and run.command[0] == sys.executable


def test_wattprint_run_records_command_and_exit(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    out = tmp_path / "r.json"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattprint",
            "run",
            "--project",
            "x",
            "--tag",
            "t1",
            "--tag",
            "t2",
            "--json",
            str(out),
            "--",
            sys.executable,
            "-c",
            "raise SystemExit(3)",
        ],
        env=_env(tmp_path, db),
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 3, res.stderr
    record = json.loads(out.read_text())
    with RunStore(db) as store:
        run = store.get(record["run_id"])
    assert run.exit_code == 3 and run.status == "failed" and run.tags == ("t1", "t2")
    assert run.command == (sys.executable, "-c", "raise SystemExit(3)")


def test_checkpoints_are_not_held_back_by_a_long_interval(tmp_path: Path) -> None:
    """Checkpoints ride on ticks: with interval_s=600 the tracker still ticks every
    checkpoint_s, so a killed run loses at most that much."""
    db = tmp_path / "runs.sqlite3"
    code = (
        "import wattprint, time\n"
        "t = wattprint.Tracker(project='slow', interval_s=600, checkpoint_s=0.2).start()\n"
        "while True:\n"
        "    sum(range(10000))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=_env(tmp_path, db))
    try:
        _wait_for(lambda: _checkpointed(db))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with RunStore(db) as store:
        (run,) = store.list(project="slow")
    assert run.status == "interrupted" and run.energy_kwh > 0


def test_a_failed_first_write_does_not_lose_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wattprint.errors import StoreError
    from wattprint.records.store import RunStore as Store

    db = tmp_path / "runs.sqlite3"
    real_begin = Store.begin
    calls = []

    def flaky(self: Store, run: object, pid: int | None = None) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("database is locked (test)")
        real_begin(self, run, pid)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "begin", flaky)
    with pytest.warns(UserWarning, match="first row"):
        tracker = wattprint.Tracker(db=db, background=False).start()
        run = tracker.stop()
    assert tracker.stored
    with RunStore(db) as store:
        assert store.get(run.run_id).status == "finished"


def test_an_uncaught_exception_is_recorded_as_failed(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    code = (
        "import wattprint\n"
        "wattprint.Tracker(project='boom').start()\n"
        "raise ValueError('boom at epoch 3')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path, db),
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 1
    with RunStore(db) as store:
        (run,) = store.list(project="boom")
    assert run.status == "failed" and run.error == "ValueError: boom at epoch 3"


def test_the_tools_own_io_is_overhead_not_the_runs(tmp_path: Path) -> None:
    """A process that only sleeps while wattprint checkpoints it often (its own process, as
    users run it): the store's writes are wattprint's overhead, measured, and the run's
    storage energy stays ~0. In a fresh process, so that no other test's I/O is in the tree."""
    db = tmp_path / "runs.sqlite3"
    code = (
        "import json, time, wattprint\n"
        "with wattprint.Tracker(interval_s=0.05, checkpoint_s=0.1) as t:\n"
        "    time.sleep(1.5)\n"
        "r = t.run\n"
        "print(json.dumps({'storage_j': sum(c.energy_j for c in r.component('storage')),\n"
        "                  'io': r.overhead.io_bytes, 'cpu': r.overhead.cpu_s}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        env=_env(tmp_path, db),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["io"] > 0 and got["cpu"] > 0
    # Billing the store's writes to the run gave ~8 J here. A residual of 0.06-0.4 J shows in
    # about 1 run in 3 on the test VM (not yet explained; the suspect is I/O counted in the
    # tree between a tick's own-use counters and the tree's reading), hence < 1 J, not 0.
    assert got["storage_j"] < 1.0


def test_a_failed_first_row_is_inserted_at_the_next_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked store at begin() must not leave the run invisible until stop(): the next
    checkpoint inserts it, so a run killed before its end is still found (as interrupted)."""
    from dataclasses import replace

    from tests.records.runs_factory import make_run
    from wattprint.errors import StoreError
    from wattprint.records.recorder import Recorder
    from wattprint.records.store import RunStore as Store

    db = tmp_path / "runs.sqlite3"
    real_begin = Store.begin
    calls: list[int] = []

    def locked_once(self: Store, run: object, pid: int | None = None) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("database is locked (test)")
        real_begin(self, run, pid)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "begin", locked_once)
    warned: list[str] = []
    recorder = Recorder(db, lambda key, msg: warned.append(key), checkpoint_s=0.0)
    run = replace(make_run("first-row"), status="running", ended_at=None)
    recorder.begin(run)
    assert warned == ["store:begin"]
    recorder.checkpoint(replace(run, energy_kwh=0.5))
    assert warned == ["store:begin"]  # the checkpoint inserted it: no second warning
    with Store(db) as store:
        got = store.get("first-row")
    assert got.status == "running" and got.energy_kwh == pytest.approx(0.5)
    assert recorder.finish(replace(run, energy_kwh=0.7, status="finished"), None)
