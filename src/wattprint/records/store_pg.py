"""The run store on PostgreSQL: one team's store for many machines (``db=postgresql://...``).

The same schema, queries and API as the SQLite store (:mod:`wattprint.records.store_db`),
with the same rules for writers: every write is one transaction that first takes a
transaction-scoped advisory lock (``pg_advisory_xact_lock``), so writers from any number of
machines are serialised exactly as ``BEGIN IMMEDIATE`` serialises them on one file (``seq``
numbering and the signing chain need that), and a write that waits longer than
``lock_timeout_s`` raises :class:`StoreError` instead of vanishing. Reads run on a
``REPEATABLE READ, READ ONLY`` snapshot and never wait for writers. The schema version lives
in a one-row table ``wattprint_schema``; migrations run under the same lock.

The driver is psycopg 3 (the ``postgres`` extra), imported only when such a store is opened.
Passwords never appear in messages: the URL is shown with its password replaced (libpq's own
``PGPASSWORD`` or ``~/.pgpass`` keep it out of the URL altogether).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from wattprint.errors import StoreError, StoreReadOnlyError
from wattprint.records import store_schema as schema
from wattprint.records.paths import redact_url, url_secrets
from wattprint.records.store_sql import POSTGRESQL, Conn, Cursor

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

#: The advisory lock every writer takes: one constant 63-bit key ("wattprnt").
LOCK_KEY = int.from_bytes(b"wattprnt", "big") >> 1
INSTALL_HINT = "pip install 'wattprint[postgres]'"


def _scrub(text: str, url: str) -> str:
    """A driver message on one line, with the URL's password taken out should libpq ever
    echo it."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return " ".join(text.split())


@functools.lru_cache(maxsize=512)
def _translate(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (a ``%`` of the text doubled);
    a ``?`` inside a quoted literal or identifier is left as it is."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


def _param(value: Any) -> Any:
    # SQLite stores NaN as NULL; do the same, so both stores hold the same values.
    return None if isinstance(value, float) and value != value else value


class PgConn:
    """A psycopg connection speaking the store's SQL (a :class:`~.store_sql.Conn`)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        cur = self._conn.cursor()
        if parameters:
            cur.execute(_translate(sql), [_param(v) for v in parameters])
        else:
            cur.execute(sql)  # no parameters: sent as it is (a % needs no doubling)
        return cur

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cur = self._conn.cursor()
        rows = [[_param(v) for v in p] for p in seq_of_parameters]
        if rows:
            cur.executemany(_translate(sql), rows)
        return cur


class PostgresDatabase:
    """One connection to a PostgreSQL run store, shared by the threads of a process (it
    reopens after ``fork``, and after the server dropped it)."""

    dialect = POSTGRESQL

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float,
        lock_timeout_s: float,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.path = redact_url(url)  # what messages call the store
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.read_only = read_only
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._closed = False
        self._psycopg = self._import()
        self._conn: psycopg.Connection[Any] | None = self._open()
        try:
            if read_only:
                self._check_version()
            else:
                self._migrate()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _import() -> Any:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"a postgresql:// run store needs the PostgreSQL driver: {INSTALL_HINT}"
            ) from None
        return psycopg

    def _open(self) -> psycopg.Connection[Any]:
        psycopg = self._psycopg
        timeout_s = max(2, round(self.busy_timeout_s))
        options: dict[str, Any] = {
            "connect_timeout": timeout_s,
            # A server that stops answering (a network cut, not a refusal) must cost seconds,
            # not the operating system's two hours of keepalive: the sampler thread waits.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            "tcp_user_timeout": timeout_s * 1000,
        }
        if self.read_only:
            from psycopg.conninfo import conninfo_to_dict

            # Added to the URL's own options (a search_path, say), never in their place.
            own = str(conninfo_to_dict(self.url).get("options") or "")
            options["options"] = f"{own} -c default_transaction_read_only=on".strip()
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, application_name="wattprint", **options
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the run store {self.path}: {_scrub(str(exc), self.url)}; "
                "check that the server is up and the URL, user and password are right "
                "(libpq's PGPASSWORD or ~/.pgpass keep the password out of the URL)"
            ) from None
        return conn  # type: ignore[no-any-return]

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError(f"the run store {self.path} is closed; open a new RunStore")
        if self._pid != os.getpid():
            # A forked child opens its own connection and drops the parent's copy unclosed
            # (psycopg never says goodbye on a connection that another process opened).
            self._pid = os.getpid()
            self._conn = None
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._open()
        return self._conn

    def _transaction(self, fn: Callable[[Conn], T], *, write: bool) -> T:
        psycopg = self._psycopg
        errors = psycopg.errors
        verb = "write to" if write else "read"
        # PostgreSQL reads a timeout of 0 as "none": never less than 1 ms. A statement may
        # take the lock wait and half a minute more, whatever happens to the server.
        lock_ms = max(1, math.ceil(self.lock_timeout_s * 1000))
        statement_ms = lock_ms + 30_000
        with self._lock:
            for attempt in range(3):
                conn = self._connection()
                ran = False  # fn finished: a failure from now on may be of the COMMIT
                try:
                    with conn.transaction(force_rollback=not write):
                        if write:
                            conn.execute(
                                "SELECT set_config('lock_timeout', %s, true), "
                                "set_config('statement_timeout', %s, true)",
                                (f"{lock_ms}ms", f"{statement_ms}ms"),
                            )
                            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                        else:
                            conn.execute(
                                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                            )
                            conn.execute(
                                "SELECT set_config('statement_timeout', %s, true)",
                                (f"{statement_ms}ms",),
                            )
                        result = fn(PgConn(conn))
                        ran = True
                    return result
                except errors.LockNotAvailable:
                    raise StoreError(
                        f"the run store {self.path} stayed locked for over "
                        f"{self.lock_timeout_s:g} s; find the session holding wattprint's "
                        f"advisory lock (pg_locks, objid {LOCK_KEY & 0xFFFFFFFF}) "
                        "or try again"
                    ) from None
                except (errors.SerializationFailure, errors.DeadlockDetected):
                    continue  # the transaction did nothing: run it again
                except psycopg.OperationalError as exc:
                    if ran and write:
                        # The connection broke during COMMIT: the write may have landed.
                        # Running it again could insert twice, so say so instead.
                        raise StoreError(
                            f"the connection to the run store {self.path} broke while a write "
                            f"was being committed ({_scrub(str(exc), self.url)}); whether it "
                            "was stored is unknown: check with `wattprint runs`"
                        ) from None
                    if conn.broken and attempt == 0:
                        continue  # the server dropped us (a restart): reconnect once
                    raise self._error(verb, exc) from None
                except psycopg.Error as exc:
                    raise self._error(verb, exc) from None
            raise StoreError(f"the run store {self.path} kept refusing the transaction; try again")

    def write(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` in one transaction that holds the writers' lock. ``fn`` may run
        more than once, so it must only touch the database."""
        return self._transaction(fn, write=True)

    def read(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` on one consistent, read-only snapshot."""
        return self._transaction(fn, write=False)

    def _error(self, verb: str, exc: Exception) -> StoreError:
        text = _scrub(str(exc), self.url)
        if isinstance(exc, self._psycopg.errors.InsufficientPrivilege) or "read-only" in text:
            return StoreReadOnlyError(
                f"the run store {self.path} is read-only for this user ({text}); grant it "
                "INSERT, UPDATE and DELETE on wattprint's tables, or use another store"
            )
        return StoreError(f"cannot {verb} the run store {self.path}: {text}")

    # -- schema --------------------------------------------------------------------------
    @staticmethod
    def _version(conn: Conn) -> int:
        # A query on the catalog, not to_regclass(): a name lookup may use a catalog cache
        # from before the lock was granted (an advisory lock does not refresh it), and so miss
        # the table that the writer before us has just created.
        exists = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'wattprint_schema'"
        ).fetchone()[0]
        if not exists:
            return 0
        row = conn.execute("SELECT version FROM wattprint_schema").fetchone()
        return 0 if row is None else int(row[0])

    def _check_version(self) -> None:
        found, latest = self.read(self._version), len(schema.MIGRATIONS)
        if found != latest:
            raise StoreError(
                f"{self.path} is at schema version {found}, this wattprint reads {latest}; "
                f"run `wattprint runs` once with this store to migrate it (this view never "
                "writes to the store)"
                if found < latest
                else f"{self.path} was created by a newer wattprint (schema version {found}, "
                f"this one reads up to {latest}); upgrade wattprint (pip install -U wattprint)"
            )

    def _migrate(self) -> None:
        latest = len(schema.MIGRATIONS)

        def checked(conn: Conn) -> int:
            found = self._version(conn)
            if found > latest:
                raise StoreError(
                    f"{self.path} was created by a newer wattprint (schema version {found}, "
                    f"this one reads up to {latest}); upgrade wattprint "
                    "(pip install -U wattprint)"
                )
            return found

        if self.read(checked) == latest:
            return

        def migrate(conn: Conn) -> None:
            found = checked(conn)  # again, under the lock: another writer may have migrated
            if found == 0:
                others = conn.execute(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                ).fetchone()[0]
                if others:
                    raise StoreError(
                        f"{self.path} already holds {others} tables of some other program; "
                        "give wattprint a database (or a schema, ?options=-csearch_path=NAME) "
                        "of its own"
                    )
                conn.execute("CREATE TABLE wattprint_schema (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO wattprint_schema VALUES (0)")
            for step in schema.MIGRATIONS[found:]:
                step(conn, POSTGRESQL)
            conn.execute("UPDATE wattprint_schema SET version = ?", (latest,))

        self.write(migrate)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
