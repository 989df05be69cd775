"""A read-only view of a run store, for servers (the dashboard) and reports over many runs.

On PostgreSQL (a ``postgresql://`` URL) it is a session whose transactions are read-only
(``default_transaction_read_only``), each query on its own snapshot; on SQLite, as follows.

Unlike :class:`~wattprint.records.store.RunStore` it never creates, migrates, reaps or writes:
the file is judged from its header first (``inspect_store_file``), then opened through SQLite's
``mode=ro`` URI with ``PRAGMA query_only``, one connection shared by
threads behind a lock (a server thread per request leaves nothing open). The store file's bytes
stay as they were (SQLite may create the ``-wal``/``-shm`` side files of a WAL database to
read it, as any reader does). A store at an older schema is refused with the command that
migrates it, rather than migrated behind the user's back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from wattprint.errors import StoreError
from wattprint.records import store_schema as schema
from wattprint.records.paths import inspect_store_file, postgres_url
from wattprint.records.run import Run, TimelineData
from wattprint.records.store import run_filter
from wattprint.records.store_db import BUSY_TIMEOUT_S, LOCK_TIMEOUT_S
from wattprint.records.store_sql import SQLITE, Conn, Dialect

MEASURED = ("measured", "integrated")  # provenances of energy read from a sensor

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")

if TYPE_CHECKING:
    from wattprint.records.store_pg import PostgresDatabase


@dataclass(frozen=True)
class RunRow:
    """One line of a runs list, from the store's derived columns (no record parsed)."""

    run_id: str
    project: str
    experiment: str | None
    tags: tuple[str, ...]
    started_at: str
    duration_s: float | None
    energy_kwh: float | None
    co2_kg: float | None
    zone: str | None
    status: str


@dataclass(frozen=True)
class Totals:
    runs: int
    energy_kwh: float
    co2_kg: float  # of the runs with a zone
    runs_without_zone: int


@dataclass(frozen=True)
class MonthTotal:
    project: str
    month: str  # YYYY-MM (UTC, by start)
    runs: int
    energy_kwh: float
    co2_kg: float  # of the runs with a zone
    runs_without_zone: int = 0


@dataclass(frozen=True)
class RunFilter:
    project: str | None = None
    tag: str | None = None
    since: str | date | datetime | None = None
    until: str | date | datetime | None = None
    status: str | None = None

    def sql(self, dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
        return run_filter(self.project, self.tag, self.since, self.until, self.status, dialect)


@dataclass(frozen=True)
class EsgInput:
    """What the period report needs of one run: read from the store's columns for speed
    (``StoreReader.esg_inputs``) or taken from a record (:meth:`of_run`)."""

    run_id: str
    project: str
    started_at: str
    status: str
    energy_kwh: float
    pue: float
    co2_kg: float | None
    zone: str | None
    intensity_source: str | None
    uncertainty_pct: float
    measured_fraction: float  # of the components' energy, from measuring sensors

    @classmethod
    def of_run(cls, run: Run) -> EsgInput:
        parts = sum(c.energy_kwh for c in run.components)
        measured = sum(c.energy_kwh for c in run.components if c.provenance in MEASURED)
        return cls(
            run.run_id, run.project, run.started_at, run.status, run.energy_kwh, run.pue,
            run.co2_kg, run.zone, run.intensity_source, run.uncertainty_pct,
            measured / parts if parts > 0 else 0.0,
        )  # fmt: skip


class StoreReader:
    """Read-only access to the run store at ``path`` (a file, or a ``postgresql://`` URL)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._pg: PostgresDatabase | None = None
        url = postgres_url(path)
        if url is not None:
            from wattprint.records.store_pg import PostgresDatabase

            self._pg = PostgresDatabase(
                url, busy_timeout_s=BUSY_TIMEOUT_S, lock_timeout_s=LOCK_TIMEOUT_S, read_only=True
            )
            self.path: Path | str = self._pg.path
            self.dialect = self._pg.dialect
            return
        self.path = Path(path).expanduser()
        self.dialect = SQLITE
        if not self.path.exists():
            raise StoreError(f"no run store at {self.path}; record a run first or pass --db PATH")
        inspect_store_file(self.path)
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            # One connection for every thread, behind a lock: a server thread per request
            # must not leave a connection (two file descriptors in WAL mode) behind it.
            self._db = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self._db.execute("PRAGMA query_only = ON")
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Through SQLite, not the file's header: in WAL mode the header on disk can lag.
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the run store {self.path}: {exc}") from exc
        if version != len(schema.MIGRATIONS):
            self.close()
            raise StoreError(
                f"{self.path} is at schema version {version}, this wattprint reads "
                f"{len(schema.MIGRATIONS)}; run `wattprint runs --db {self.path}` once to "
                "migrate it (this view never writes to the store)"
            )

    def _run(self, fn: Callable[[Conn], T]) -> T:
        """``fn`` on the store's connection (PostgreSQL: on a read-only snapshot)."""
        if self._pg is not None:
            return self._pg.read(fn)
        with self._lock:
            if self._db is None:
                raise StoreError(f"the store reader for {self.path} is closed")
            try:
                return fn(self._db)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the run store {self.path}: {exc}") from exc

    def _query(
        self, sql: str, args: list[str] | tuple[object, ...] = ()
    ) -> list[tuple[object, ...]]:
        return self._run(lambda conn: list(conn.execute(sql, args).fetchall()))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._pg is not None:
                self._pg.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------
    def rows(self, f: RunFilter, limit: int = 100, offset: int = 0) -> list[RunRow]:
        """Runs matching ``f``, newest first, ``limit`` from ``offset``."""
        where, args = f.sql(self.dialect)
        found = self._query(
            "SELECT id, project, experiment, tags, started_at, duration_s, energy_kwh, co2_kg, "
            f"zone, status FROM runs{where} ORDER BY started_at DESC, id DESC "
            f"LIMIT {max(0, int(limit))} OFFSET {max(0, int(offset))}",
            args,
        )
        out = []
        for r in found:
            try:
                tags = tuple(str(t) for t in json.loads(str(r[3])))
            except (ValueError, TypeError):
                tags = ()
            out.append(
                RunRow(
                    str(r[0]),
                    str(r[1]),
                    _str(r[2]),
                    tags,
                    str(r[4]),
                    _num(r[5]),
                    _num(r[6]),
                    _num(r[7]),
                    _str(r[8]),
                    str(r[9]),
                )
            )
        return out

    def totals(self, f: RunFilter) -> Totals:
        where, args = f.sql(self.dialect)
        ((n, kwh, kg, no_zone),) = self._query(
            "SELECT count(*), coalesce(sum(energy_kwh), 0), coalesce(sum(co2_kg), 0), "
            f"sum(CASE WHEN co2_kg IS NULL THEN 1 ELSE 0 END) FROM runs{where}",
            args,
        )
        return Totals(_int(n), _num(kwh) or 0.0, _num(kg) or 0.0, _int(no_zone))

    def projects(self) -> list[str]:
        return [str(r[0]) for r in self._query("SELECT DISTINCT project FROM runs ORDER BY 1")]

    def tags(self) -> list[str]:
        return [str(r[0]) for r in self._query(f"{self.dialect.all_tags()} LIMIT 500")]

    def months(self, f: RunFilter) -> list[MonthTotal]:
        """Totals per project and month of start (UTC), oldest first."""
        where, args = f.sql(self.dialect)
        return [
            MonthTotal(str(p), str(m), _int(n), _num(kwh) or 0.0, _num(kg) or 0.0, _int(nz))
            for p, m, n, kwh, kg, nz in self._query(
                "SELECT project, substr(started_at, 1, 7), count(*), "
                "coalesce(sum(energy_kwh), 0), coalesce(sum(co2_kg), 0), "
                "sum(CASE WHEN co2_kg IS NULL THEN 1 ELSE 0 END) "
                f"FROM runs{where} GROUP BY 1, 2 ORDER BY 1, 2",
                args,
            )
        ]

    def get(self, run_id: str) -> Run | None:
        """The run with exactly this id, or None."""
        found = self._query("SELECT record FROM runs WHERE id = ?", (run_id,))
        return Run.from_dict(json.loads(str(found[0][0]))) if found else None

    def runs(self, f: RunFilter) -> list[Run]:
        """Every run matching ``f``, as full records, oldest first (for period reports)."""
        where, args = f.sql(self.dialect)
        found = self._query(f"SELECT record FROM runs{where} ORDER BY started_at, id", args)
        return [Run.from_dict(json.loads(str(r[0]))) for r in found]

    def esg_inputs(self, f: RunFilter) -> list[EsgInput]:
        """What the Scope 2 report needs of each run matching ``f``, oldest first, from the
        columns and the components table (no record parsed: 10,000 runs in tens of ms)."""
        where, args = f.sql(self.dialect)
        marks = ", ".join("?" for _ in MEASURED)
        found = self._query(
            "SELECT id, project, started_at, status, energy_kwh, pue, co2_kg, zone, "
            "intensity_source, uncertainty_pct, "
            "(SELECT coalesce(sum(energy_kwh), 0) FROM components c WHERE c.run_id = runs.id "
            f"AND c.provenance IN ({marks})), "
            "(SELECT coalesce(sum(energy_kwh), 0) FROM components c WHERE c.run_id = runs.id) "
            f"FROM runs{where} ORDER BY started_at, id",
            [*MEASURED, *args],
        )
        return [
            EsgInput(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                _num(r[4]) or 0.0,
                _num(r[5]) or 1.0,
                _num(r[6]),
                _str(r[7]),
                _str(r[8]),
                _num(r[9]) or 0.0,
                (_num(r[10]) or 0.0) / parts if (parts := _num(r[11]) or 0.0) > 0 else 0.0,
            )
            for r in found
        ]

    def job_runs(self, job_id: str) -> list[Run]:
        """The records of a multi-node job (its nodes' and, if rank 0 wrote one, the job's),
        oldest first.

        Found by the record's text (the job id as the stored JSON writes it), then checked
        on the parsed record: no JSON function reads the column, so one record holding a
        number PostgreSQL's JSON refuses (NaN) cannot break the query for the whole store."""
        needle = f'"job_id":{json.dumps(job_id)}'
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found = self._query(
            "SELECT record FROM runs WHERE record LIKE ? ESCAPE '\\' ORDER BY started_at, id",
            (f"%{escaped}%",),
        )
        runs = [Run.from_dict(json.loads(str(r[0]))) for r in found]
        return [r for r in runs if r.job is not None and r.job.job_id == job_id]

    def timeline(self, run_id: str) -> TimelineData | None:
        return self._run(lambda conn: schema.read_timeline(conn, run_id))


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) else None


def _int(v: object) -> int:
    return int(v) if isinstance(v, (int, float)) else 0


def _str(v: object) -> str | None:
    return None if v is None else str(v)
