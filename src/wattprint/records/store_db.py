"""The run store's SQLite file: opening, WAL, locking with retries, schema migrations; and
:func:`open_database`, which picks the engine (this one, or PostgreSQL for a URL).

Many processes may record into one store at once (a sweep, ``torchrun`` ranks, several
terminals): the file is in WAL mode, every write is one ``BEGIN IMMEDIATE`` transaction, and a
write that finds the database locked retries with backoff for up to ``lock_timeout_s`` before
raising :class:`StoreError` — a write is never dropped silently. Reads run on a snapshot and
never wait for writers.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from wattprint.errors import StoreError, StoreReadOnlyError
from wattprint.records import store_schema as schema
from wattprint.records.paths import STORE_HINT as _HINT
from wattprint.records.paths import inspect_store_file, make_private_dir, postgres_url
from wattprint.records.store_sql import SQLITE, Conn

if TYPE_CHECKING:
    from wattprint.records.store_pg import PostgresDatabase

#: How long SQLite itself waits for a lock, per attempt.
BUSY_TIMEOUT_S = 10.0
#: How long a write keeps retrying a locked database before it raises.
LOCK_TIMEOUT_S = 60.0

T = TypeVar("T")
D = TypeVar("D", bound="Database")


def default_db_path(db: str | None = None) -> Path | str:
    """The store: ``db``, else the ``db`` setting (environment, config file), else
    ``runs.sqlite3`` in the user's data directory. A file is a Path, a PostgreSQL store its
    URL (a str). A store switched off is a StoreError."""
    if db is None:
        from wattprint.settings import setting

        db = setting("db")  # type: ignore[assignment]
    if db == "off":
        raise StoreError(
            "recording is switched off (the db setting is 'off'); give the store's path with "
            "--db PATH or the db setting"
        )
    url = postgres_url(db)
    if url is not None:
        return url
    if db:
        return Path(db).expanduser()
    import platformdirs  # deferred: only the store needs it

    return Path(platformdirs.user_data_dir("wattprint")) / "runs.sqlite3"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    msg = str(exc)
    return "locked" in msg or "busy" in msg


def open_database(
    target: str | os.PathLike[str] | None = None,
    *,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Database | PostgresDatabase:
    """The run store's engine for ``target`` (default: :func:`default_db_path`): PostgreSQL
    for a ``postgresql://`` URL, else the SQLite file at that path; created or migrated to the
    current schema."""
    if target is None:
        target = default_db_path()
    url = postgres_url(target)
    if url is not None:
        from wattprint.records.store_pg import PostgresDatabase

        return PostgresDatabase(url, busy_timeout_s=busy_timeout_s, lock_timeout_s=lock_timeout_s)
    return Database(target, busy_timeout_s=busy_timeout_s, lock_timeout_s=lock_timeout_s)


class Database:
    """One SQLite connection to the run store, safe to share between threads of a process
    (it reopens after ``fork``, as SQLite requires)."""

    dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self.path = Path(path if path is not None else default_db_path()).expanduser()
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        with self._lock:
            self._conn = self._open()
            try:
                self._migrate()
            except BaseException:
                self.close()
                raise

    # -- connection ----------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        # Judge the file by its header before SQLite touches it: connecting (and switching to
        # WAL) would change another program's database.
        inspect_store_file(self.path, len(schema.MIGRATIONS))
        try:
            make_private_dir(str(self.path.parent))
            new = not self.path.exists()
            if new:  # the store holds full command lines: owner only (0600)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the run database {self.path}: {exc}; {_HINT}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints in WAL mode
            # Changing the journal mode needs a moment alone with the file: retry like a write.
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                conn.close()
                raise self._error("open", exc) from exc
            # Someone else's store: it can still be read (writes raise StoreReadOnlyError).
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{self.path} is not a wattprint run database ({exc}); {_HINT}"
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the run store {self.path} is closed; open a new RunStore")
        if self._pid != os.getpid():
            # A forked child must not use the parent's connection (SQLite's rule); the old one
            # is dropped without closing so the parent's file locks are left alone.
            self._pid = os.getpid()
            self._conn = self._open()
        return self._conn

    def _retry(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.lock_timeout_s
        delay_s = 0.005
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the run database {self.path} stayed locked for over "
                        f"{self.lock_timeout_s:g} s; find the process holding it "
                        f"(fuser {self.path}) or {_HINT}"
                    ) from exc
            time.sleep(delay_s * random.uniform(0.5, 1.5))  # jitter: writers don't march
            delay_s = min(delay_s * 2, 0.25)

    def write(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` in one ``BEGIN IMMEDIATE`` transaction, retrying while locked.

        ``fn`` may run more than once, so it must only touch the database. For this package's
        modules (signing); not a stable API.
        """
        with self._lock:
            conn = self._connection()

            def attempt() -> T:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result

            try:
                return self._retry(attempt)
            except sqlite3.Error as exc:
                raise self._error("write to", exc) from exc

    def read(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn(conn)`` on one consistent snapshot (a read transaction)."""
        with self._lock:
            conn = self._connection()

            def attempt() -> T:
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    conn.execute("ROLLBACK")  # nothing to keep; ends the snapshot

            try:
                return self._retry(attempt)
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc

    def _error(self, verb: str, exc: sqlite3.Error) -> StoreError:
        if "readonly" in str(exc):
            return StoreReadOnlyError(
                f"the run database {self.path} is read-only for this user (in WAL mode even "
                f"reading needs write access to its directory); {_HINT}"
            )
        return StoreError(
            f"cannot {verb} the run database {self.path}: {exc}; "
            f"check the disk and its permissions, or {_HINT}"
        )

    def _migrate(self) -> None:
        latest = len(schema.MIGRATIONS)

        def version(conn: Conn) -> int:
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found > latest:
                raise StoreError(
                    f"{self.path} was created by a newer wattprint (schema version {found}, "
                    f"this one reads up to {latest}); upgrade wattprint "
                    f"(pip install -U wattprint) or {_HINT}"
                )
            return found

        if self.read(version) == latest:
            return

        def migrate(conn: Conn) -> None:
            found = version(conn)  # again: another process may have migrated meanwhile
            if found == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(
                    f"{self.path} is an SQLite database of some other program; {_HINT}"
                )
            for step in schema.MIGRATIONS[found:]:
                step(conn, SQLITE)
            conn.execute(f"PRAGMA user_version = {latest}")

        self.write(migrate)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self: D) -> D:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_meta(conn: Conn, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: Conn, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
