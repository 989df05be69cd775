"""The run store's schema (on SQLite or PostgreSQL), its migrations, and the mapping from a
run record to rows.

Kept apart from :mod:`wattprint.records.store` (connections, locking, the API) so that the
layout of the data can be read in one place. The ``record`` column (``Run.to_dict()`` as JSON)
is the truth; every other column and table is derived from it for querying, and
:func:`record_mismatches` says where the derived copy no longer agrees (used by
``signing.verify``). Timelines and intensity bins are detail that the record does not hold.

Timeline arrays are stored as raw IEEE-754 float64 values, **little-endian**, whatever the
host's byte order (``array('d').tobytes()``, byte-swapped on big-endian hosts): 8 bytes per
sample, readable with ``numpy.frombuffer(blob, "<f8")``.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wattprint.records.run import TimelineData
from wattprint.records.store_sql import Conn, Dialect

STATUSES = ("running", "finished", "failed", "interrupted")
FINAL_STATUSES = ("finished", "failed", "interrupted")


def _v1(d: Dialect) -> tuple[str, ...]:
    """Schema version 1 in dialect ``d`` (its text, 8-byte float and bytes types)."""
    T, R, B = d.text, d.real, d.blob  # noqa: N806 - the column types, read as such
    return (
        f"""CREATE TABLE runs (
            id {T} PRIMARY KEY NOT NULL,
            seq INTEGER UNIQUE,            -- order of finishing: 1, 2, 3... (signing chains on it)
            project {T} NOT NULL,
            experiment {T},
            tags {T} NOT NULL DEFAULT '[]',        -- JSON list
            host {T} NOT NULL DEFAULT '',
            "user" {T} NOT NULL DEFAULT '',
            command {T},                           -- JSON list, or NULL
            git_commit {T},
            python_version {T} NOT NULL DEFAULT '',
            wattprint_version {T} NOT NULL DEFAULT '',
            packages {T} NOT NULL DEFAULT '{{}}',  -- JSON object
            started_at {T} NOT NULL,               -- ISO 8601 UTC
            ended_at {T},
            duration_s {R},
            energy_kwh {R},
            co2_kg {R},
            zone {T},
            intensity_g_per_kwh {R},
            intensity_source {T},
            pue {R},
            scope {T},
            uncertainty_pct {R},
            status {T} NOT NULL CHECK (status IN {STATUSES!r}),
            exit_code INTEGER,
            signal INTEGER,
            error {T},
            pid INTEGER,                            -- of the writing process, while running
            host_key {T},                          -- hostname/pid-namespace/boot of that process
            heartbeat_at {R},                      -- unix time of the last write
            record {T} NOT NULL,                   -- Run.to_dict() as JSON: the truth
            hmac {T}                               -- see wattprint.records.signing
        )""",
        "CREATE INDEX runs_project ON runs(project)",
        "CREATE INDEX runs_started_at ON runs(started_at)",
        "CREATE INDEX runs_status ON runs(status)",
        f"""CREATE TABLE components (
            run_id {T} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            name {T} NOT NULL,
            device {T} NOT NULL,
            energy_kwh {R},
            method {T} NOT NULL,
            provenance {T} NOT NULL,
            uncertainty_pct {R},
            gap_s {R},
            PRIMARY KEY (run_id, idx)
        )""",
        f"""CREATE TABLE windows (
            run_id {T} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            name {T} NOT NULL,
            started_at {T} NOT NULL,
            duration_s {R},
            energy_kwh {R},
            co2_kg {R},
            uncertainty_pct {R},
            components {T} NOT NULL,               -- JSON list of component dicts
            PRIMARY KEY (run_id, idx)
        )""",
        f"""CREATE TABLE timelines (
            run_id {T} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key {T} NOT NULL,                      -- e.g. 'cpu:package-0'
            t_blob {B} NOT NULL,                   -- float64 LE, seconds since the start
            e_blob {B} NOT NULL,                   -- float64 LE, cumulative joules
            PRIMARY KEY (run_id, key)
        )""",
        f"""CREATE TABLE intensity_bins (
            run_id {T} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            start_at {T} NOT NULL,
            end_at {T} NOT NULL,
            energy_kwh {R},
            intensity_g_per_kwh {R},
            source {T},
            PRIMARY KEY (run_id, start_at)
        )""",
        f"CREATE TABLE meta (key {T} PRIMARY KEY NOT NULL, value {T} NOT NULL)",
    )


def _migrate_v1(conn: Conn, dialect: Dialect) -> None:
    for statement in _v1(dialect):
        conn.execute(statement)


#: ``MIGRATIONS[i]`` takes a database from schema version ``i`` to ``i + 1`` inside the
#: caller's transaction (so no ``executescript``, which commits), in the caller's dialect.
#: Append, never edit.
MIGRATIONS: list[Callable[[Conn, Dialect], None]] = [_migrate_v1]

#: Columns of ``runs`` derived from the record, in insertion order.
RECORD_COLUMNS = (
    "id",
    "project",
    "experiment",
    "tags",
    "host",
    "user",
    "command",
    "git_commit",
    "python_version",
    "wattprint_version",
    "packages",
    "started_at",
    "ended_at",
    "duration_s",
    "energy_kwh",
    "co2_kg",
    "zone",
    "intensity_g_per_kwh",
    "intensity_source",
    "pue",
    "scope",
    "uncertainty_pct",
    "status",
    "exit_code",
    "signal",
    "error",
    "record",
)
_JSON_COLUMNS = frozenset({"tags", "command", "packages", "record", "components"})
_COMPONENT_FIELDS = (
    "name",
    "device",
    "energy_kwh",
    "method",
    "provenance",
    "uncertainty_pct",
    "gap_s",
)
_WINDOW_FIELDS = ("name", "started_at", "duration_s", "energy_kwh", "co2_kg", "uncertainty_pct")


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON (stable text for the same value)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def quoted(column: str) -> str:
    return f'"{column}"'


def record_columns(d: Mapping[str, Any]) -> dict[str, Any]:
    """The ``runs`` values derived from a record (``Run.to_dict()`` or its stored JSON)."""
    scalar = {c: d.get(c) for c in RECORD_COLUMNS if c not in _JSON_COLUMNS and c != "id"}
    return {
        **scalar,
        "id": d["run_id"],
        "tags": to_json(list(d.get("tags") or [])),
        "command": to_json(list(d["command"])) if d.get("command") is not None else None,
        "packages": to_json(dict(d.get("packages") or {})),
        "record": to_json(dict(d)),
    }


def component_rows(components: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [(i, *(c.get(f) for f in _COMPONENT_FIELDS)) for i, c in enumerate(components)]


def window_rows(d: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (i, *(w.get(f) for f in _WINDOW_FIELDS), to_json(list(w.get("components") or [])))
        for i, w in enumerate(d.get("windows") or [])
    ]


def write_details(conn: Conn, d: Mapping[str, Any]) -> None:
    """Replace a run's ``components``, ``windows`` and ``intensity_bins`` rows with those of
    record ``d`` (the bins: time-binned accounting; the signed record holds them too)."""
    run_id = d["run_id"]
    conn.execute("DELETE FROM components WHERE run_id = ?", (run_id,))
    conn.execute("DELETE FROM windows WHERE run_id = ?", (run_id,))
    conn.execute("DELETE FROM intensity_bins WHERE run_id = ?", (run_id,))
    conn.executemany(
        # A record may name one bin twice: the later one wins, as it did in the record.
        "INSERT INTO intensity_bins VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, start_at) "
        "DO UPDATE SET end_at = excluded.end_at, energy_kwh = excluded.energy_kwh, "
        "intensity_g_per_kwh = excluded.intensity_g_per_kwh, source = excluded.source",
        [
            (
                run_id,
                b.get("start"),
                b.get("end"),
                b.get("energy_kwh"),
                b.get("intensity_g_per_kwh"),
                b.get("source"),
            )
            for b in d.get("intensity_bins") or []
        ],
    )
    conn.executemany(
        "INSERT INTO components VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, *row) for row in component_rows(d.get("components") or [])],
    )
    conn.executemany(
        "INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, *row) for row in window_rows(d)],
    )


# -- timelines ------------------------------------------------------------------------------
def pack_f64(values: Sequence[float]) -> bytes:
    """float64 little-endian bytes (the documented on-disk format)."""
    a = array("d", values)
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


def unpack_f64(blob: bytes) -> tuple[float, ...]:
    a = array("d")
    a.frombytes(blob)
    if sys.byteorder == "big":
        a.byteswap()
    return tuple(a)


def write_timeline(conn: Conn, run_id: str, timeline: TimelineData | None) -> None:
    """Replace a run's timeline. Every key's row carries the time axis, so rows stand alone.

    ``None`` keeps what is stored (a checkpoint without samples must not erase earlier ones).
    """
    if timeline is None:
        return
    conn.execute("DELETE FROM timelines WHERE run_id = ?", (run_id,))
    t_blob = pack_f64(timeline.t_s)
    conn.executemany(
        "INSERT INTO timelines VALUES (?, ?, ?, ?)",
        [(run_id, key, t_blob, pack_f64(e)) for key, e in sorted(timeline.energy_j.items())],
    )


def read_timeline(conn: Conn, run_id: str) -> TimelineData | None:
    rows = conn.execute(
        "SELECT key, t_blob, e_blob FROM timelines WHERE run_id = ? ORDER BY key", (run_id,)
    ).fetchall()
    if not rows:
        return None
    return TimelineData(
        t_s=unpack_f64(rows[0][1]),
        energy_j={key: unpack_f64(e_blob) for key, _, e_blob in rows},
    )


# -- consistency ----------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    """Equal as stored: NaN is kept as NULL (by SQLite, and so by the PostgreSQL store);
    JSON text is compared as values."""
    if isinstance(a, float) and math.isnan(a):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(b, float) and math.isnan(b):
        return a is None
    return bool(a == b)


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text  # not JSON: compares unequal to any parsed value


def record_mismatches(conn: Conn, run_id: str, d: Mapping[str, Any]) -> list[str]:
    """Where the query columns and tables of a run disagree with its record ``d``.

    One line per difference, naming the run and the column: the record is what is signed, so
    a difference means someone edited the derived copy (and reports reading it are wrong).
    """
    out: list[str] = []
    cols = [c for c in RECORD_COLUMNS if c != "record"]
    row = conn.execute(
        f"SELECT {', '.join(map(quoted, cols))} FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        return [f"run {run_id}: row is missing"]
    want = record_columns(d)
    for col, have in zip(cols, row, strict=True):
        expected = want[col]
        if col in _JSON_COLUMNS:
            have, expected = _parsed(have), _parsed(expected)
        if not _same(expected, have):
            out.append(
                f"run {run_id}: column {col} was edited "
                f"(table {have!r}, signed record {expected!r})"
            )
    for table, want_rows in (
        ("components", component_rows(d.get("components") or [])),
        ("windows", window_rows(d)),
    ):
        have_rows = conn.execute(
            f"SELECT * FROM {table} WHERE run_id = ? ORDER BY idx", (run_id,)
        ).fetchall()
        have_rows = [tuple(r[1:]) for r in have_rows]
        if len(have_rows) != len(want_rows):
            out.append(
                f"run {run_id}: table {table} has {len(have_rows)} rows, "
                f"the signed record {len(want_rows)}"
            )
            continue
        for have_row, want_row in zip(have_rows, want_rows, strict=True):
            pairs = zip(have_row, want_row, strict=True)
            if not all(_same(_parsed(w), _parsed(h)) for h, w in pairs):
                out.append(f"run {run_id}: {table} row {want_row[0]} was edited")
    return out
