"""Checks that a record can be written where asked, made before the user's code runs.

Plain ``os`` calls on purpose: they run while a Tracker is created, so they import nothing
(no pathlib, tempfile or sqlite3). Each probes by doing what the later write will do rather
than by permission bits, which root ignores.
"""

from __future__ import annotations

import contextlib
import os

from wattprint.errors import ConfigError, StoreError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

STORE_HINT = "give a writable file path (--db PATH, or the db setting)"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def postgres_url(target: object) -> str | None:
    """``target`` if it names a PostgreSQL store (``postgresql://...``), else None."""
    if isinstance(target, str) and target[:13].lower().startswith(POSTGRES_SCHEMES):
        return target
    return None


SECRET_URL_PARAMS = frozenset({"password", "sslpassword"})


def _split_url(url: str) -> tuple[str, str | None, str | None, str, str] | None:
    """``scheme``, ``user``, ``password``, host part, and the rest (path, query) of a URL,
    split as libpq splits one: the user information is everything before the last ``@`` ahead
    of the first ``/``, so a password may hold ``?``, ``#`` or ``[``. None without ``://``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    slash = rest.find("/")
    authority, tail = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    at = authority.rfind("@")
    if at < 0:
        user = password = None
        hosts = authority
    else:
        userinfo, hosts = authority[:at], authority[at + 1 :]
        user, colon, secret = userinfo.partition(":")
        password = secret if colon else None
    if slash < 0 and "?" in hosts:  # postgresql://host?sslmode=...: no path, a query
        hosts, q, query = hosts.partition("?")
        tail = q + query
    return scheme, user, password, hosts, tail


def url_secrets(url: str) -> list[str]:
    """The URL's password and password parameters (non-empty), to take out of messages."""
    from urllib.parse import unquote

    parts = _split_url(url)
    if parts is None:
        return []
    found = [parts[2] or ""]
    query = parts[4].partition("?")[2]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key.lower() in SECRET_URL_PARAMS:
            found.append(value)
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def redact_url(url: str) -> str:
    """``url`` with its password (and any password parameter) shown as ``***``."""
    parts = _split_url(url)
    if parts is None:
        return url
    scheme, user, password, hosts, tail = parts
    userinfo = "" if user is None else f"{user}{'' if password is None else ':***'}@"
    path, q, query = tail.partition("?")
    if query:
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(
            f"{k}=***" if k.lower() in SECRET_URL_PARAMS else f"{k}{eq}{v}" for k, eq, v in pairs
        )
    return f"{scheme}://{userinfo}{hosts}{path}{q}{query}"


def _port_problem(hosts: str) -> str | None:
    for spec in hosts.split(","):
        port = spec.rpartition("]")[2] if spec.startswith("[") else spec
        if ":" in port:
            number = port.rpartition(":")[2]
            if number and not (number.isascii() and number.isdigit()):
                return "its port is not a number"
    return None


def check_postgres_url(url: str) -> None:
    """Raise :class:`StoreError` unless ``url`` parses as a PostgreSQL connection URL (as libpq
    reads one: several hosts, a password with any characters). The message never holds the
    password."""
    problem = None
    parts = _split_url(url)
    if any(ord(ch) < 32 or ch == " " for ch in url):
        problem = "it holds spaces or control characters"
    elif parts is None:
        problem = "it has no ://"
    else:
        hosts, tail = parts[3], parts[4]
        problem = _port_problem(hosts)
        if problem is None and not (hosts or tail.partition("?")[0].strip("/") or "?" in tail):
            problem = "it names no host and no database"
    if problem is not None:
        raise StoreError(
            f"not a PostgreSQL URL: {redact_url(url)!r} ({problem}); give "
            "postgresql://USER@HOST:5432/DATABASE (the password in PGPASSWORD or ~/.pgpass)"
        )


def shown_store(target: object) -> str:
    """How messages name a store: its path, or its URL without the password."""
    url = postgres_url(target)
    return redact_url(url) if url is not None else str(target)


def _probe_dir(directory: str) -> None:
    """Create and remove a file in ``directory`` (OSError if that cannot be done)."""
    probe = os.path.join(directory, f".wattprint-probe-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write ``text`` (UTF-8, or bytes as they are) to ``path`` so that a reader sees the old
    file or the new one, never half of either: a file beside it (with the old file's mode, or
    the umask's for a new one), flushed to disk, then renamed over it (through a symlink, to
    its target). On any failure (a full disk) the file beside it is removed and OSError
    raised."""
    p = os.path.realpath(os.fspath(path))  # through a symlink, to the file it names
    tmp = os.path.join(
        os.path.dirname(p) or ".",
        f".{os.path.basename(p)}.{os.getpid()}.{os.urandom(4).hex()}.tmp",
    )
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # the umask applies
    try:
        try:
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(fd, os.stat(p).st_mode & 0o7777)  # the file keeps its mode
            view = memoryview(text.encode("utf-8") if isinstance(text, str) else text)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_output_path(path: str | os.PathLike[str], what: str = "") -> None:
    """Raise ConfigError now if a file could not be written at ``path`` later (after a run):
    records are written to a file beside it and renamed into place, so the directory must
    take a new file, and an existing target must be a regular file. ``what`` prefixes the
    message, e.g. the CLI flag."""
    p = os.fspath(path)
    label = f"{what} {p}" if what else p
    if not p:
        raise ConfigError(f"{what or 'the path'} is empty; give a file path, e.g. run.json")
    parent = os.path.dirname(p) or "."
    if os.path.isdir(p):
        raise ConfigError(f"{label} is a directory; give a file path, e.g. {p}/run.json")
    if not os.path.isdir(parent):
        raise ConfigError(
            f"{label}: directory {parent} does not exist; create it or choose another path"
        )
    if os.path.lexists(p) and not os.path.isfile(p):
        raise ConfigError(f"{label} is not a regular file; choose another path")
    try:
        _probe_dir(parent)
    except OSError as exc:
        raise ConfigError(
            f"{label} cannot be written ({exc.strerror or exc}); choose another path"
        ) from None
    if os.path.exists(p) and not os.access(p, os.W_OK):
        raise ConfigError(f"{label} cannot be written (read-only); choose another path")


SQLITE_MAGIC = b"SQLite format 3\x00"


def inspect_store_file(path: str | os.PathLike[str], latest_schema: int | None = None) -> None:
    """Raise :class:`StoreError` unless ``path`` is absent, empty, or looks like a wattprint
    run store, judged from the 100-byte SQLite header alone (no SQLite connection, which could
    change another program's file, e.g. switch it to WAL): a regular file, the SQLite magic, a
    page count the file holds, and a schema version (``user_version``) that is ours and no
    newer than ``latest_schema``."""
    p = os.path.expanduser(os.fspath(path))
    where = f"{p} cannot be the run store"
    if os.path.islink(p) and not os.path.exists(p):
        raise StoreError(f"{where}: it is a dangling symbolic link; {STORE_HINT}")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{where}: {exc.strerror or exc}; {STORE_HINT}") from exc
    import stat

    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{where}: it is not a regular file; {STORE_HINT}")
    if st.st_size == 0:
        return
    try:
        with open(p, "rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise StoreError(f"{where}: {exc.strerror or exc}; {STORE_HINT}") from exc
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(f"{p} is not a wattprint run database (not SQLite); {STORE_HINT}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    pages_valid = header[24:28] == header[92:96]  # the count is kept up to date (SQLite >= 3.7)
    # A write-ahead log may still hold pages a checkpoint had not copied (or could not: a full
    # disk); SQLite recovers them, so the file is only truncated when there is no log.
    wal = f"{p}-wal"
    has_wal = os.path.exists(wal) and os.path.getsize(wal) > 0
    if pages_valid and st.st_size < pages * page_size and not has_wal:
        raise StoreError(f"{where}: the file is truncated; {STORE_HINT}")
    version = int.from_bytes(header[60:64], "big")
    if latest_schema is None:
        from wattprint.records.store_schema import MIGRATIONS

        latest_schema = len(MIGRATIONS)
    if version > latest_schema:
        raise StoreError(
            f"{p} was created by a newer wattprint (schema version {version}, this one reads up "
            f"to {latest_schema}); upgrade wattprint (pip install -U wattprint) or {STORE_HINT}"
        )
    if version == 0 and pages_valid and pages > 1:
        raise StoreError(f"{p} is an SQLite database of some other program; {STORE_HINT}")


def output_path(value: object, name: str) -> Path:
    """A record's output path given to the Tracker (``json_path=``), checked now."""
    from pathlib import Path

    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ConfigError(f"{name}={value!r} is not a file path")
    check_output_path(value)
    return Path(value)


def check_store_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`StoreError` unless the store at ``path`` can be created and written:
    checks an existing file's header (:func:`inspect_store_file`), creates missing parent
    directories (0700), a file beside the database (as its WAL will be), and opens an existing
    database for writing."""
    url = postgres_url(path)
    if url is not None:
        check_postgres_url(url)  # connecting is left to the first write: it costs a round trip
        return
    p = os.path.expanduser(os.fspath(path))
    where = f"cannot write the run database {p}"
    if os.path.isdir(p):
        raise StoreError(f"{where}: it is a directory; {STORE_HINT}")
    parent = os.path.dirname(os.path.abspath(p))
    ancestor = parent
    while not os.path.exists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise StoreError(f"{where}: {ancestor} is not a directory; {STORE_HINT}")
    inspect_store_file(p)
    try:
        make_private_dir(parent)
        _probe_dir(parent)
        if os.path.exists(p):
            os.close(os.open(p, os.O_RDWR))
    except OSError as exc:
        raise StoreError(f"{where}: {exc.strerror or exc}; {STORE_HINT}") from exc


def make_private_dir(directory: str) -> None:
    """Create ``directory`` (and missing parents) readable by its owner only (0700): the run
    store holds full command lines. An existing directory is left as it is."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
