"""The run store: every run, its components, windows and timeline, in one SQLite file or a
PostgreSQL database (a team's shared store: ``db=postgresql://...``).

A run is inserted as ``running`` when it begins and rewritten at each checkpoint, so a process
that dies (SIGKILL, OOM, power) leaves its energy up to the last checkpoint. Readers
(:meth:`RunStore.get`, :meth:`RunStore.list`) first mark such orphans ``interrupted``.
When a run ends it gets the next ``seq``, the order that :mod:`wattprint.records.signing`
chains runs in.

Connections, locking and migrations are in :mod:`wattprint.records.store_db` (SQLite) and
:mod:`wattprint.records.store_pg` (PostgreSQL), the schema in
:mod:`wattprint.records.store_schema`, the SQL that differs between the two in
:mod:`wattprint.records.store_sql`. The store never holds the signing key.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from wattprint.errors import StoreError, StoreReadOnlyError
from wattprint.records import store_schema as schema
from wattprint.records.context import hostname, iso_utc
from wattprint.records.run import Run, TimelineData
from wattprint.records.store_db import (
    BUSY_TIMEOUT_S,
    LOCK_TIMEOUT_S,
    default_db_path,
    get_meta,
    open_database,
    set_meta,
)
from wattprint.records.store_sql import SQLITE, Conn, Dialect

T = TypeVar("T")

__all__ = [
    "STALE_AFTER_S",
    "RunStore",
    "StoreError",
    "StoreReadOnlyError",
    "default_db_path",
    "get_meta",
    "host_key",
    "pid_alive",
    "set_meta",
]

#: A running row whose heartbeat is older than this is taken for dead, whatever its host.
STALE_AFTER_S = 300.0


# -- liveness -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def host_key() -> str:
    """Where a pid means this process: hostname, pid namespace and boot (Linux).

    Two containers may share a hostname (``--network host``) but not a pid namespace, and a
    pid from before a reboot means nothing after it.
    """
    parts = [hostname()]
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    except OSError:
        pass  # not Linux, or /proc hidden: the hostname alone, and the heartbeat rule
    return "/".join(parts)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is alive (a zombie is not)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True  # os.kill would terminate it on Windows; rely on the heartbeat
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # exists, owned by someone else
    except (OSError, OverflowError):  # no such process, or not a pid at all
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True  # no procfs (macOS): os.kill said it exists
    state = stat[stat.rfind(b")") + 2 :][:1]
    return state not in (b"Z", b"X")


# -- helpers --------------------------------------------------------------------------------
def _bound(value: str | date | datetime, *, upper: bool) -> str:
    """An ISO bound comparable with ``started_at``. A bare date as ``until`` means its end."""
    if isinstance(value, str):
        try:
            value = (
                date.fromisoformat(value)
                if len(value) == 10
                else datetime.fromisoformat(value.replace("Z", "+00:00"))
            )
        except ValueError:
            raise StoreError(
                f"not a date or time: {value!r}; give ISO 8601, e.g. 2024-05-01 or 2024-05-01T12:00"
            ) from None
    try:
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
            if upper:
                value += timedelta(days=1)
        return iso_utc(value)
    except OverflowError:  # past year 9999 or before year 1 in UTC: that end of time
        return "9999-12-31T23:59:59.999Z~" if value.year >= 9999 else "0001-01-01T00:00:00.000Z"


def run_filter(
    project: str | None = None,
    tag: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    status: str | None = None,
    dialect: Dialect = SQLITE,
) -> tuple[str, list[str]]:
    """The ``WHERE`` clause (with a leading space, or empty) and its arguments that select
    runs by project, tag, start time and status: ``since`` inclusive, ``until`` exclusive (a
    bare date as ``until`` includes that day); naive times are UTC. Shared by the store and
    the read-only reader."""
    where: list[str] = []
    args: list[str] = []
    if project is not None:
        where.append("project = ?")
        args.append(project)
    if tag is not None:
        where.append(dialect.has_tag())
        args.append(tag)
    if since is not None:
        where.append("started_at >= ?")
        args.append(_bound(since, upper=False))
    if until is not None:
        where.append("started_at < ?")
        args.append(_bound(until, upper=True))
    if status is not None:
        if status not in schema.STATUSES:
            raise StoreError(f"unknown status {status!r}; use one of {', '.join(schema.STATUSES)}")
        where.append("status = ?")
        args.append(status)
    return (" WHERE " + " AND ".join(where) if where else ""), args


class RunStore:
    """A run store: a SQLite file, or PostgreSQL for a ``postgresql://`` URL. Thread-safe;
    open one per process.

    >>> with RunStore() as store:
    ...     store.list(project="demo", limit=5)
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stale_after_s: float = STALE_AFTER_S,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self._db = open_database(path, busy_timeout_s=busy_timeout_s, lock_timeout_s=lock_timeout_s)
        self.path: Path | str = self._db.path  # a PostgreSQL URL is shown without its password
        self.dialect = self._db.dialect
        self.stale_after_s = stale_after_s

    @property
    def lock_timeout_s(self) -> float:
        """How long a write waits for other writers before it raises StoreError."""
        return self._db.lock_timeout_s

    @lock_timeout_s.setter
    def lock_timeout_s(self, value: float) -> None:
        self._db.lock_timeout_s = value

    def write(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` in one write transaction, waiting for other writers (see
        :meth:`wattprint.records.store_db.Database.write`)."""
        return self._db.write(fn)

    def read(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` on one consistent snapshot."""
        return self._db.read(fn)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------
    def begin(self, run: Run, pid: int | None = None) -> None:
        """Insert ``run`` as running, written by process ``pid`` (default: this one)."""
        d = replace(run, status="running", ended_at=None).to_dict()
        live = {
            "pid": os.getpid() if pid is None else pid,
            "host_key": host_key(),
            "heartbeat_at": time.time(),
        }

        def fn(conn: Conn) -> None:
            if self._status(conn, run.run_id) is not None:
                raise StoreError(
                    f"run {run.run_id} is already in the store {self.path}; give each run a new id"
                )
            self._insert(conn, d, live)

        self.write(fn)

    def checkpoint(self, run: Run, timeline: TimelineData | None = None) -> None:
        """Store the running ``run``'s values so far (all in one transaction)."""
        d = replace(run, status="running", ended_at=None).to_dict()

        def fn(conn: Conn) -> None:
            status = self._updatable(conn, run.run_id)
            if status is None:
                raise StoreError(
                    f"run {run.run_id} was not begun in {self.path}; call begin() first"
                )
            if status in ("finished", "failed"):
                raise StoreError(
                    f"run {run.run_id} is already {status} in {self.path}; "
                    "checkpoint() only applies to a running run"
                )
            # A row marked interrupted while its process was suspended comes back to life;
            # it keeps its seq, and signing waits for it (see signing.sign_pending).
            self._update(conn, d, timeline)

        self.write(fn)

    def finish(self, run: Run, timeline: TimelineData | None = None) -> None:
        """Store the final ``run`` (status finished, failed or interrupted) and number it."""
        if run.status not in schema.FINAL_STATUSES:
            raise StoreError(
                f"finish() needs a final status, got {run.status!r}; "
                f"give one of {', '.join(schema.FINAL_STATUSES)}"
            )
        if run.ended_at is None:
            run = replace(run, ended_at=iso_utc(time.time()))
        d = run.to_dict()

        def fn(conn: Conn) -> None:
            if self._updatable(conn, run.run_id) is None:
                self._insert(conn, d, {"pid": None, "host_key": None, "heartbeat_at": time.time()})
                schema.write_timeline(conn, run.run_id, timeline)
            else:
                self._update(conn, d, timeline)
            self._number(conn, run.run_id)

        self.write(fn)

    def import_run(self, run: Run) -> bool:
        """Add a finished run from elsewhere (a CSV import) unless its id is present."""
        if run.status not in schema.FINAL_STATUSES:
            raise StoreError(
                f"cannot import run {run.run_id} with status {run.status!r}; "
                "only finished, failed or interrupted runs can be imported"
            )
        d = run.to_dict()

        def fn(conn: Conn) -> bool:
            if self._status(conn, run.run_id) is not None:
                return False
            self._insert(conn, d, {"pid": None, "host_key": None, "heartbeat_at": None})
            self._number(conn, run.run_id)
            return True

        return self.write(fn)

    def delete(self, run_id: str) -> bool:
        """Remove a run and its rows (exact id). Signed stores will report the gap."""
        return self.write(
            lambda conn: conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0
        )

    def mark_interrupted(
        self, now: float | None = None, *, stale_after_s: float | None = None
    ) -> int:
        """Mark orphaned running rows ``interrupted``; return how many.

        A row is orphaned when its process, on this host, is gone, or when its heartbeat is
        older than ``stale_after_s`` (another host's run that stopped writing). Its energy is
        that of its last checkpoint, and ``ended_at`` the time of that checkpoint.
        """
        t_now = time.time() if now is None else now
        limit_s = self.stale_after_s if stale_after_s is None else stale_after_s
        me = host_key()

        def orphans(conn: Conn) -> builtins.list[tuple[str, float | None, str]]:
            rows = conn.execute(
                "SELECT id, host_key, pid, heartbeat_at, record FROM runs "
                "WHERE status = 'running' ORDER BY heartbeat_at, id"
            ).fetchall()
            return [
                (run_id, beat, record)
                for run_id, key, pid, beat, record in rows
                # On this host the process itself answers (a run suspended for an hour is not
                # dead); another host's run is judged by its heartbeat.
                if (key == me and pid is not None and not pid_alive(pid))
                or (key != me and (beat is None or t_now - beat > limit_s))
            ]

        if not self.read(orphans):  # the common case costs no write lock
            return 0

        def fn(conn: Conn) -> int:
            found = orphans(conn)
            for run_id, beat, record in found:
                d = json.loads(record)
                ended = iso_utc(beat if beat is not None else t_now)
                d["status"], d["ended_at"] = "interrupted", ended
                d["warnings"] = [
                    *d.get("warnings", []),
                    f"interrupted: the process stopped without finishing; energy up to its "
                    f"last checkpoint at {ended}",
                ]
                self._set_columns(conn, d)
                self._number(conn, run_id)
            return len(found)

        return self.write(fn)

    # -- row helpers (inside a transaction) ----------------------------------------------
    @staticmethod
    def _status(conn: Conn, run_id: str) -> str | None:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    def _updatable(self, conn: Conn, run_id: str) -> str | None:
        """The row's status, or None if absent; StoreError if it is signed (final)."""
        row = conn.execute("SELECT status, hmac FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None and row[1] is not None:
            raise StoreError(
                f"run {run_id} is already {row[0]} and signed in {self.path}, so it cannot "
                "change; keep this result with --json, or record it under a new run id"
            )
        return None if row is None else str(row[0])

    def _insert(self, conn: Conn, d: dict[str, Any], live: dict[str, Any]) -> None:
        values = {**schema.record_columns(d), **live}
        names = ", ".join(map(schema.quoted, values))
        marks = ", ".join("?" * len(values))
        conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", tuple(values.values()))
        schema.write_details(conn, d)

    def _set_columns(self, conn: Conn, d: dict[str, Any]) -> None:
        values = {**schema.record_columns(d)}
        del values["id"]
        sets = ", ".join(f"{schema.quoted(c)} = ?" for c in values)
        conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values.values(), d["run_id"]))

    def _update(self, conn: Conn, d: dict[str, Any], timeline: TimelineData | None) -> None:
        self._set_columns(conn, d)
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), d["run_id"]))
        schema.write_details(conn, d)
        schema.write_timeline(conn, d["run_id"], timeline)

    @staticmethod
    def _number(conn: Conn, run_id: str) -> None:
        """Give the run the next ``seq`` unless it has one. Never reuses a number, even one
        whose run was deleted (a high-water mark in ``meta``), so signing sees the gap."""
        if conn.execute("SELECT seq FROM runs WHERE id = ?", (run_id,)).fetchone()[0] is not None:
            return
        top = conn.execute("SELECT coalesce(max(seq), 0) FROM runs").fetchone()[0]
        mark = get_meta(conn, "seq_high")
        seq = max(int(top), int(mark) if mark and mark.isdigit() else 0) + 1
        conn.execute("UPDATE runs SET seq = ? WHERE id = ?", (seq, run_id))
        set_meta(conn, "seq_high", str(seq))

    # -- reading -------------------------------------------------------------------------
    def _reap(self) -> None:
        """Readers see the truth: orphans become interrupted — when the store can be written.
        On someone else's read-only store, a full disk or a long-held lock the rows are shown
        as they are: reading must never need a write."""
        with contextlib.suppress(StoreError):
            self.mark_interrupted()

    def _resolve(self, conn: Conn, prefix: str) -> str:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (prefix,)).fetchone():
            return prefix
        rows = conn.execute(
            "SELECT id, project, started_at FROM runs WHERE substr(id, 1, ?) = ? "
            "ORDER BY started_at DESC LIMIT 11",
            (len(prefix), prefix),
        ).fetchall()
        if prefix and len(rows) == 1:
            return str(rows[0][0])
        if not prefix or not rows:
            raise StoreError(
                f"no run with id {prefix!r} in {self.path}; list runs with `wattprint runs`"
            )
        shown = ", ".join(f"{r[0]} ({r[1]}, {r[2]})" for r in rows[:10])
        more = " and more" if len(rows) > 10 else ""
        raise StoreError(
            f"run id {prefix!r} is ambiguous: {shown}{more}; give more characters of the id"
        )

    def get(self, run_id: str) -> Run:
        """The run with this id or unique id prefix."""
        self._reap()

        def fn(conn: Conn) -> Run:
            full = self._resolve(conn, run_id)
            row = conn.execute("SELECT record FROM runs WHERE id = ?", (full,)).fetchone()
            return Run.from_dict(json.loads(row[0]))

        return self.read(fn)

    def timeline(self, run_id: str) -> TimelineData | None:
        """The run's cumulative energy over time, or None if none was stored."""
        return self.read(lambda conn: schema.read_timeline(conn, self._resolve(conn, run_id)))

    def list(
        self,
        project: str | None = None,
        tag: str | None = None,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Run]:
        """Runs, newest first. ``since`` is inclusive, ``until`` exclusive (a bare date as
        ``until`` includes that day); naive times are UTC."""
        where, args = run_filter(project, tag, since, until, status, self.dialect)
        sql = f"SELECT record FROM runs{where}"
        sql += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {max(0, int(limit))}"
        self._reap()
        rows = self.read(lambda conn: conn.execute(sql, args).fetchall())
        return [Run.from_dict(json.loads(r[0])) for r in rows]
