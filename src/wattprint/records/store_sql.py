"""The SQL the run store speaks, and the two places it differs between SQLite and PostgreSQL.

The store's queries are written once, with ``?`` placeholders, in the subset both engines
share (``coalesce(sum(...), 0)`` rather than SQLite's ``total``, ``INSERT ... ON CONFLICT``
rather than ``INSERT OR REPLACE``). What cannot be shared is a :class:`Dialect`: the column
types of the schema (SQLite's ``REAL`` is 8 bytes, PostgreSQL's 4) and the JSON functions
(SQLite's ``json_each``, PostgreSQL's ``jsonb_array_elements_text``).
A connection of either engine is a :class:`Conn`: ``sqlite3.Connection`` is one as it is;
:mod:`wattprint.records.store_pg` wraps psycopg's in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """What the store's SQL runs on, inside a transaction the engine opened."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between engines. ``text`` is a text column: bytewise ordered on
    PostgreSQL too (``COLLATE "C"``), so ISO times and ids sort as they do in SQLite."""

    name: str
    text: str
    real: str  # an 8-byte float
    blob: str

    def has_tag(self) -> str:
        """A condition on ``runs`` with one ``?``: the run's tags (a JSON list) hold it."""
        if self.name == "postgresql":
            return (
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(runs.tags::jsonb) AS t(value) "
                "WHERE t.value = ?)"
            )
        return "EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE value = ?)"

    def all_tags(self) -> str:
        """Every distinct tag of every run, sorted."""
        if self.name == "postgresql":
            return (
                'SELECT DISTINCT t.value COLLATE "C" FROM runs, '
                "jsonb_array_elements_text(runs.tags::jsonb) AS t(value) ORDER BY 1"
            )
        return "SELECT DISTINCT value FROM runs, json_each(runs.tags) ORDER BY 1"


SQLITE = Dialect("sqlite", text="TEXT", real="REAL", blob="BLOB")
POSTGRESQL = Dialect("postgresql", text='TEXT COLLATE "C"', real="DOUBLE PRECISION", blob="BYTEA")
