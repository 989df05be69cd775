"""The run store, on SQLite and on a real PostgreSQL: round trips, schema versions,
concurrency, crashed writers. Tests that take ``target`` run on both engines."""

from __future__ import annotations

import os
import signal
import sqlite3
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from tests.records.store_helpers import (
    BACKENDS,
    PYTHON,
    Target,
    backend_target,
    is_pg,
    make_run,
    make_timeline,
    raw,
    subprocess_env,
)
from wattprint.errors import StoreError
from wattprint.records import store_schema
from wattprint.records.paths import check_store_path as check_writable
from wattprint.records.run import IntensityBin, Run
from wattprint.records.store import RunStore, default_db_path, pid_alive
from wattprint.records.store_pg import LOCK_KEY
from wattprint.records.store_sql import Conn, Dialect

ENV_DB = "WATTPRINT_DB"


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return backend_target(request, tmp_path)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A SQLite store's path, for the tests of the file itself."""
    return tmp_path / "data" / "runs.sqlite3"


@pytest.fixture
def store(target: Target) -> Iterator[RunStore]:
    s = RunStore(target)
    yield s
    s.close()


def schema_version(target: Target) -> int:
    with raw(target) as conn:
        if is_pg(target):
            return int(conn.execute("SELECT version FROM wattprint_schema").fetchone()[0])
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


# -- round trip ---------------------------------------------------------------------------
def test_begin_checkpoint_finish_round_trips_the_run(store: RunStore, target: Target) -> None:
    final = make_run()
    store.begin(replace(final, energy_kwh=0.0, components=(), windows=()), pid=os.getpid())
    assert store.get(final.run_id).status == "running"
    store.checkpoint(replace(final, energy_kwh=0.001), make_timeline(3))
    assert store.get(final.run_id).energy_kwh == 0.001
    store.finish(final, make_timeline(5))

    assert store.get(final.run_id) == final
    assert store.timeline(final.run_id) == make_timeline(5)
    with raw(target) as conn:
        seq, status, energy = conn.execute(
            "SELECT seq, status, energy_kwh FROM runs WHERE id = ?", (final.run_id,)
        ).fetchone()
        comps = conn.execute(
            "SELECT name, device, energy_kwh, provenance FROM components ORDER BY idx"
        ).fetchall()
        wins = conn.execute("SELECT name, energy_kwh FROM windows").fetchall()
    assert (seq, status, energy) == (1, "finished", 0.0025)
    assert comps == [
        ("cpu", "package-0", 0.002, "measured"),
        ("ram", "16 GiB", 0.0005, "estimated"),
    ]
    assert wins == [("epoch 1", 0.001)]


def test_checkpoint_without_timeline_keeps_the_stored_one(store: RunStore) -> None:
    run = make_run()
    store.begin(run)
    store.checkpoint(run, make_timeline(4))
    store.checkpoint(run, None)
    assert store.timeline(run.run_id) == make_timeline(4)


def test_timeline_blobs_are_float64_little_endian(store: RunStore, target: Target) -> None:
    run = make_run()
    store.finish(run, make_timeline(3))
    with raw(target) as conn:
        t_blob, e_blob = conn.execute(
            "SELECT t_blob, e_blob FROM timelines WHERE key = 'cpu:package-0'"
        ).fetchone()
    assert t_blob == struct.pack("<3d", 0.0, 1.0, 2.0)
    assert e_blob == struct.pack("<3d", 0.0, 3.5, 7.0)


def test_finish_without_begin_inserts_and_numbers_in_order(store: RunStore) -> None:
    for i in range(3):
        store.finish(make_run(f"r{i}"))
    with raw(store.path) as conn:
        assert conn.execute("SELECT id, seq FROM runs ORDER BY seq").fetchall() == [
            ("r0", 1),
            ("r1", 2),
            ("r2", 3),
        ]


def test_seq_is_never_reused_after_a_delete(store: RunStore) -> None:
    store.finish(make_run("a"))
    store.finish(make_run("b"))
    assert store.delete("b")
    assert not store.delete("b")
    store.finish(make_run("c"))
    with raw(store.path) as conn:
        assert conn.execute("SELECT seq FROM runs WHERE id = 'c'").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM components WHERE run_id = 'b'").fetchone() == (0,)


def test_finish_needs_a_final_status(store: RunStore) -> None:
    with pytest.raises(StoreError, match="final status"):
        store.finish(make_run(status="running"))


def test_begin_twice_and_checkpoint_unknown_are_errors(store: RunStore) -> None:
    store.begin(make_run("x"))
    with pytest.raises(StoreError, match="already in the store"):
        store.begin(make_run("x"))
    with pytest.raises(StoreError, match="was not begun"):
        store.checkpoint(make_run("y"))
    store.finish(make_run("x"))
    with pytest.raises(StoreError, match="already finished"):
        store.checkpoint(make_run("x"))


def test_import_run_adds_once(store: RunStore) -> None:
    run = make_run("imported", status="failed")
    assert store.import_run(run)
    assert not store.import_run(replace(run, energy_kwh=9.0))
    assert store.get("imported") == run
    with pytest.raises(StoreError, match="only finished"):
        store.import_run(make_run("other", status="running"))


# -- schema and pragmas -------------------------------------------------------------------
def test_new_store_is_wal_with_current_schema(db: Path) -> None:
    store = RunStore(db)
    with raw(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (len(store_schema.MIGRATIONS),)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs", "components", "windows", "timelines", "intensity_bins", "meta"} <= tables
    assert {"runs_project", "runs_started_at", "runs_status"} <= indexes
    conn = store.read(lambda c: c)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
    store.close()


def test_new_postgres_store_has_the_schema_bytewise_text_and_8_byte_floats(pg_url: str) -> None:
    RunStore(pg_url).close()
    with raw(pg_url) as conn:
        assert schema_version(pg_url) == len(store_schema.MIGRATIONS)
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? AND column_name IN ('energy_kwh', 'record')",
                ("runs",),
            ).fetchall()
        )
        collation = conn.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'runs' AND column_name = 'started_at'"
        ).fetchone()[0]
    assert {"runs", "components", "windows", "timelines", "intensity_bins", "meta"} <= tables
    assert types == {"energy_kwh": "double precision", "record": "text"}
    assert collation == "C"


def test_an_older_schema_is_migrated(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    with RunStore(target) as s:
        s.finish(make_run("old"))

    def v2(conn: Conn, dialect: Dialect) -> None:
        conn.execute(f"ALTER TABLE runs ADD COLUMN note {dialect.text}")

    monkeypatch.setattr(store_schema, "MIGRATIONS", [*store_schema.MIGRATIONS, v2])
    with RunStore(target) as s:
        assert s.get("old").run_id == "old"
        s.finish(make_run("new"))
    assert schema_version(target) == 2
    with raw(target) as conn:
        assert conn.execute("SELECT count(note) FROM runs").fetchone() == (0,)


def test_an_empty_sqlite_file_is_migrated_from_version_0(db: Path) -> None:
    db.parent.mkdir()
    sqlite3.connect(db).close()
    with RunStore(db) as s:
        s.finish(make_run())
    with raw(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)


def test_a_newer_schema_is_refused(target: Target) -> None:
    if is_pg(target):
        with raw(target) as conn:
            conn.execute("CREATE TABLE wattprint_schema (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO wattprint_schema VALUES (99)")
    else:
        assert isinstance(target, Path)
        target.parent.mkdir()
        with raw(target) as conn:
            conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="created by a newer wattprint") as info:
        RunStore(target)
    assert "\n" not in str(info.value)


def test_other_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with raw(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(StoreError, match="some other program"):
        RunStore(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just text that is long enough to have a header" * 4)
    with pytest.raises(StoreError, match="not a wattprint run database"):
        RunStore(text)


def test_a_postgres_database_of_another_program_is_refused(pg_url: str) -> None:
    with raw(pg_url) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(StoreError, match="1 tables of some other program"):
        RunStore(pg_url)
    with raw(pg_url) as conn:  # left as it was
        assert conn.execute("SELECT to_regclass('runs')").fetchone() == (None,)


def test_closed_store_says_so(target: Target) -> None:
    s = RunStore(target)
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.list()


# -- paths ----------------------------------------------------------------------------------
def test_default_db_path_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DB, str(tmp_path / "x.sqlite3"))
    assert default_db_path() == tmp_path / "x.sqlite3"
    monkeypatch.delenv(ENV_DB)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_db_path()
    assert path.name == "runs.sqlite3"
    assert "wattprint" in path.parts


def test_check_writable_accepts_a_new_nested_path(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "runs.sqlite3"
    check_writable(target)
    assert target.parent.is_dir()
    assert list(target.parent.iterdir()) == []  # the probe leaves nothing behind
    RunStore(target).close()
    check_writable(target)  # an existing store too


@pytest.mark.parametrize(
    "make_bad",
    [
        pytest.param(lambda p: p / "file" / "runs.sqlite3", id="parent-is-a-file"),
        pytest.param(lambda p: p / "file" / "deeper" / "runs.sqlite3", id="ancestor-is-a-file"),
        pytest.param(lambda p: p, id="path-is-a-directory"),
        pytest.param(lambda p: Path("/proc/runs.sqlite3"), id="in-proc"),
        pytest.param(lambda p: Path("/proc/self/wattprint/runs.sqlite3"), id="under-proc"),
    ],
)
def test_check_writable_refuses_what_sqlite_cannot_write(tmp_path: Path, make_bad: object) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs procfs")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"cannot write the run database.*--db PATH") as info:
        check_writable(make_bad(tmp_path))  # type: ignore[operator]
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores modes")
def test_check_writable_refuses_a_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(StoreError):
            check_writable(ro / "runs.sqlite3")
    finally:
        ro.chmod(0o700)


# -- reading ----------------------------------------------------------------------------------
def test_get_by_unique_prefix_and_ambiguous_prefix(store: RunStore) -> None:
    for run_id in ("abc123", "abc456", "def789"):
        store.finish(make_run(run_id))
    assert store.get("abc1").run_id == "abc123"
    assert store.get("d").run_id == "def789"
    with pytest.raises(StoreError, match="ambiguous") as info:
        store.get("abc")
    assert "abc123" in str(info.value) and "abc456" in str(info.value)
    with pytest.raises(StoreError, match="no run with id 'zzz'"):
        store.get("zzz")
    with pytest.raises(StoreError, match="no run"):
        store.get("")


def test_list_filters_and_orders_newest_first(store: RunStore) -> None:
    store.finish(make_run("a", project="p1", started_at="2024-05-01T10:00:00.000Z", tags=("x",)))
    store.finish(make_run("b", project="p1", started_at="2024-05-02T10:00:00.000Z", tags=()))
    store.finish(
        make_run("c", project="p2", started_at="2024-05-03T10:00:00.000Z", status="failed")
    )
    store.begin(make_run("d", project="p2", started_at="2024-05-04T10:00:00.000Z", tags=("x",)))

    def ids(runs: list[Run]) -> list[str]:
        return [r.run_id for r in runs]

    assert ids(store.list()) == ["d", "c", "b", "a"]
    assert ids(store.list(project="p1")) == ["b", "a"]
    assert ids(store.list(tag="x")) == ["d", "a"]
    assert ids(store.list(status="failed")) == ["c"]
    assert ids(store.list(status="running")) == ["d"]
    assert ids(store.list(since="2024-05-02")) == ["d", "c", "b"]
    assert ids(store.list(until="2024-05-02")) == ["b", "a"]  # a bare date includes that day
    assert ids(store.list(since="2024-05-02T12:00", until="2024-05-04T09:00Z")) == ["c"]
    assert ids(store.list(project="p2", limit=1)) == ["d"]
    with pytest.raises(StoreError, match="not a date"):
        store.list(since="last tuesday")
    with pytest.raises(StoreError, match="unknown status"):
        store.list(status="done")


# -- crashed and stale writers ----------------------------------------------------------------
_KILLED_CHILD = """
import sys, time
from dataclasses import replace
from tests.records.store_helpers import make_run, make_timeline
from wattprint.records.store import RunStore
store = RunStore(sys.argv[1])
run = make_run("victim", status="running", ended_at=None)
store.begin(replace(run, energy_kwh=0.0, components=()))
store.checkpoint(replace(run, energy_kwh=0.125, duration_s=42.0), make_timeline(4))
print("checkpointed", flush=True)
time.sleep(60)
"""


def test_a_killed_writer_is_marked_interrupted_with_its_checkpointed_energy(
    store: RunStore,
) -> None:
    env = subprocess_env()
    args = [PYTHON, "-c", _KILLED_CHILD, str(store.path)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "checkpointed"
            assert store.mark_interrupted() == 0  # alive: left alone
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=10)  # reaped: a zombie would still own its pid
    assert not pid_alive(child.pid)

    assert store.mark_interrupted() == 1
    assert store.mark_interrupted() == 0
    run = store.get("victim")
    assert run.status == "interrupted"
    assert (run.energy_kwh, run.duration_s) == (0.125, 42.0)
    assert run.ended_at is not None
    assert any("interrupted" in w for w in run.warnings)
    assert store.timeline("victim") == make_timeline(4)
    with raw(store.path) as conn:
        assert conn.execute("SELECT seq, status FROM runs").fetchone() == (1, "interrupted")


def test_readers_mark_orphans_themselves(store: RunStore) -> None:
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True)
    store.begin(make_run("orphan"), pid=int(dead.stdout))
    assert [r.status for r in store.list()] == ["interrupted"]


def test_a_stale_heartbeat_from_another_host_is_interrupted(store: RunStore) -> None:
    store.begin(make_run("remote", host="elsewhere"))
    with raw(store.path) as conn:  # as if written by a process of another machine
        conn.execute("UPDATE runs SET host_key = 'elsewhere/ns/boot', pid = 1")
    now = time.time()
    assert store.mark_interrupted(now=now + 60) == 0  # quiet for a minute: still running
    assert store.get("remote").status == "running"
    assert store.mark_interrupted(now=now + 301) == 1
    assert store.get("remote").status == "interrupted"


def test_a_suspended_run_marked_interrupted_comes_back_and_keeps_its_seq(
    store: RunStore,
) -> None:
    run = make_run("sleepy", status="running", ended_at=None)
    store.begin(run)
    # On its own host a live process is never taken for dead, however long it slept...
    assert store.mark_interrupted(now=time.time() + 3600) == 0
    # ...but a reader on another host only sees a heartbeat that stopped.
    with raw(store.path) as conn:
        conn.execute("UPDATE runs SET host_key = 'another-host' WHERE id = 'sleepy'")
    assert store.mark_interrupted(now=time.time() + 3600) == 1
    store.finish(make_run("later"))
    store.checkpoint(replace(run, energy_kwh=0.5))  # the process woke up
    assert store.get("sleepy").status == "running"
    store.finish(replace(run, status="finished", energy_kwh=0.75))
    with raw(store.path) as conn:
        rows = conn.execute("SELECT id, seq, status, energy_kwh FROM runs ORDER BY seq")
        assert rows.fetchall() == [
            ("sleepy", 1, "finished", 0.75),
            ("later", 2, "finished", 0.0025),
        ]


# -- concurrency -------------------------------------------------------------------------------
_WORKER = """
import sys, time
from dataclasses import replace
from pathlib import Path
from tests.records.store_helpers import make_run, make_timeline
from wattprint.records.store import RunStore
db, worker, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
store = RunStore(db)
deadline = time.monotonic() + 20
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
for i in range(n):
    run = make_run(f"w{worker:02d}-{i:03d}", status="running", ended_at=None)
    store.begin(replace(run, energy_kwh=0.0))
    store.checkpoint(replace(run, energy_kwh=0.001), make_timeline(3))
    store.finish(replace(run, status="finished"), make_timeline(6))
    store.list(limit=1)
store.close()
"""


def test_ten_processes_write_at_once_without_loss(store: RunStore, tmp_path: Path) -> None:
    workers, runs_each = 10, 20
    env = subprocess_env()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", _WORKER, str(store.path), str(w), str(runs_each), str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    go.touch()
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors

    total = workers * runs_each
    with raw(store.path) as conn:
        if not is_pg(store.path):
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute(
            "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM runs"
        ).fetchone() == (total, total, 1, total)
        assert conn.execute("SELECT DISTINCT status FROM runs").fetchall() == [("finished",)]
        assert conn.execute("SELECT count(*) FROM components").fetchone() == (2 * total,)
        assert conn.execute("SELECT count(*) FROM timelines").fetchone() == (2 * total,)
    assert len(store.list()) == total
    assert store.timeline("w09-019") == make_timeline(6)


def test_a_write_waits_for_a_lock_and_then_succeeds(db: Path) -> None:
    store = RunStore(db, busy_timeout_s=0.01, lock_timeout_s=10)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        store.finish(make_run())  # retried with backoff past the holder's commit
    finally:
        release.join()
        holder.close()
    assert store.get(make_run().run_id).status == "finished"
    store.close()


def test_a_write_that_stays_locked_raises_instead_of_vanishing(db: Path) -> None:
    store = RunStore(db, busy_timeout_s=0.01, lock_timeout_s=0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="stayed locked"):
            store.finish(make_run())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.list() == []
    store.close()


def test_a_postgres_write_waits_for_another_writer_and_then_succeeds(pg_url: str) -> None:
    import psycopg

    store = RunStore(pg_url, lock_timeout_s=10)
    holder = psycopg.connect(pg_url, autocommit=True)  # a writer on another machine
    holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    release = threading.Timer(0.3, holder.execute, args=("SELECT pg_advisory_unlock_all()",))
    release.start()
    try:
        started = time.monotonic()
        store.finish(make_run())
        assert time.monotonic() - started >= 0.25  # it did wait for the other writer
    finally:
        release.join()
        holder.close()
    assert store.get(make_run().run_id).status == "finished"
    store.close()


def test_a_postgres_write_that_stays_locked_raises_instead_of_vanishing(pg_url: str) -> None:
    import psycopg

    store = RunStore(pg_url, lock_timeout_s=0.2)
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(StoreError, match="stayed locked") as info:
            store.finish(make_run())
        assert "\n" not in str(info.value)
    assert store.list() == []
    store.close()


def test_a_postgres_store_reconnects_after_the_server_dropped_it(pg_url: str) -> None:
    store = RunStore(pg_url)
    store.finish(make_run("before"))
    with raw(pg_url) as conn:  # an administrator's kill, or a server restart
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'wattprint' AND pid != pg_backend_pid()"
        )
    store.finish(make_run("after"))
    assert {r.run_id for r in store.list()} == {"before", "after"}
    store.close()


def test_threads_share_one_store(store: RunStore) -> None:
    def record(k: int) -> None:
        for i in range(10):
            store.finish(make_run(f"t{k}-{i}"))

    threads = [threading.Thread(target=record, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list()) == 40


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(store: RunStore) -> None:
    store.finish(make_run("parent"))
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        code = 1
        try:
            store.finish(make_run("child"))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's own connection outlived the child's exit (on PostgreSQL, the child's copy
    # of the socket must not have said goodbye for it).
    assert {r.run_id for r in store.list()} == {"parent", "child"}
    store.finish(make_run("parent-again"))


def test_intensity_bins_fill_their_table(store: RunStore) -> None:
    from dataclasses import replace as _replace

    bins = (
        {
            "start": "2026-01-01T10:00:00+00:00",
            "end": "2026-01-01T11:00:00+00:00",
            "energy_kwh": 0.5,
            "intensity_g_per_kwh": 120.0,
            "source": "neso",
            "kind": "historical",
            "co2_kg": 0.06,
        },
        {
            "start": "2026-01-01T11:00:00+00:00",
            "end": "2026-01-01T12:00:00+00:00",
            "energy_kwh": 0.25,
            "intensity_g_per_kwh": 200.0,
            "source": "static: table",
            "kind": "static",
            "co2_kg": 0.05,
        },
    )
    run = _replace(make_run("binned"), intensity_bins=tuple(IntensityBin(**b) for b in bins))
    store.finish(run)
    assert [asdict(b) for b in store.get("binned").intensity_bins] == list(bins)
    with raw(store.path) as conn:
        rows = conn.execute(
            "SELECT start_at, energy_kwh, intensity_g_per_kwh, source FROM "
            "intensity_bins WHERE run_id = 'binned' ORDER BY start_at"
        ).fetchall()
    assert rows == [
        (b["start"], b["energy_kwh"], b["intensity_g_per_kwh"], b["source"]) for b in bins
    ]


def test_the_reader_answers_the_same_on_both_engines(store: RunStore, target: Target) -> None:
    from wattprint.records.reader import RunFilter, StoreReader
    from wattprint.records.run import JobInfo

    job = JobInfo("job-42", "slurm", node_id="node-a", rank=0, world_size=8)
    store.finish(make_run("n1", tags=("x", "é y"), job=job), make_timeline(3))
    store.finish(make_run("n2", started_at="2024-06-01T00:00:00.000Z", job=job, tags=()))
    store.finish(make_run("solo", project="other", zone=None, co2_kg=None, tags=("x",)))
    with StoreReader(target) as reader:
        assert [r.run_id for r in reader.job_runs("job-42")] == ["n1", "n2"]
        assert reader.job_runs("job-4") == []
        assert reader.tags() == ["x", "é y"]
        assert [r.run_id for r in reader.rows(RunFilter(tag="é y"))] == ["n1"]
        totals = reader.totals(RunFilter())
        assert (totals.runs, totals.runs_without_zone) == (3, 1)
        assert totals.energy_kwh == pytest.approx(3 * 0.0025)
        assert [(m.project, m.month, m.runs) for m in reader.months(RunFilter())] == [
            ("demo", "2024-05", 1),
            ("demo", "2024-06", 1),
            ("other", "2024-05", 1),
        ]
        esg = {e.run_id: e for e in reader.esg_inputs(RunFilter())}
        assert esg["n1"].measured_fraction == pytest.approx(0.002 / 0.0025)
        assert reader.timeline("n1") == make_timeline(3)
        assert reader.get("n2") == store.get("n2")
        with pytest.raises(StoreError):  # read-only: a write is refused by the engine
            reader._run(lambda conn: conn.execute("DELETE FROM runs"))
    assert len(store.list()) == 3


_OPENER = """
import sys, time
from pathlib import Path
from tests.records.store_helpers import make_run
from wattprint.records.store import RunStore
go = Path(sys.argv[3])
deadline = time.monotonic() + 20
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
with RunStore(sys.argv[1]) as store:
    store.finish(make_run(sys.argv[2]))
"""


def test_processes_that_create_a_new_store_at_once_all_use_it(
    target: Target, tmp_path: Path
) -> None:
    """The first write creates the schema; the others wait for it and must then see it (on
    PostgreSQL a name lookup could use a catalog cache from before the lock: a regression)."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", _OPENER, str(target), f"p{i}", str(go)],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    time.sleep(0.3)  # let them all start and wait at the line
    go.touch()
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    with RunStore(target) as store:
        assert sorted(r.run_id for r in store.list()) == [f"p{i}" for i in range(6)]
    assert schema_version(target) == len(store_schema.MIGRATIONS)


def test_job_runs_are_exact_and_survive_a_record_postgres_json_refuses(
    store: RunStore, target: Target
) -> None:
    from wattprint.records.reader import StoreReader
    from wattprint.records.run import JobInfo

    store.finish(make_run("a", job=JobInfo("job_1%", "slurm", node_id="n1")))
    store.finish(make_run("b", job=JobInfo("jobX1%", "slurm", node_id="n2")))  # LIKE's "_"
    store.finish(make_run("nan", uncertainty_pct=float("nan")))  # JSON's NaN token
    with StoreReader(target) as reader:
        assert [r.run_id for r in reader.job_runs("job_1%")] == ["a"]
        assert reader.job_runs("job") == []


def test_a_postgres_reader_keeps_the_urls_own_options(pg_url: str) -> None:
    from wattprint.records.reader import StoreReader

    with raw(pg_url) as conn:
        conn.execute("CREATE SCHEMA team")
    url = f"{pg_url}?options=-csearch_path%3Dteam"
    with RunStore(url) as store:
        store.finish(make_run("in-team"))
    with StoreReader(url) as reader:  # read-only, and still in the schema the URL names
        assert reader.get("in-team") is not None
    with raw(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM team.runs").fetchone() == (1,)


def test_a_postgres_lock_timeout_under_a_millisecond_still_times_out(pg_url: str) -> None:
    import psycopg

    store = RunStore(pg_url, lock_timeout_s=0.0004)  # PostgreSQL reads 0 ms as "no limit"
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        started = time.monotonic()
        with pytest.raises(StoreError, match="stayed locked"):
            store.finish(make_run())
        assert time.monotonic() - started < 2
    store.close()
