"""A real PostgreSQL server for the store tests (Debian's ``postgresql`` package).

``start_postgres`` runs ``initdb`` and ``pg_ctl start`` from the package's ``bin`` directory
in a fresh temporary directory (the server detached, outside the test process's tree),
listening on 127.0.0.1 at a free port only (its socket directory is the temporary one), with
trust authentication for one role, ``wattprint``. Under root the
server runs as the ``postgres`` user the package creates (PostgreSQL refuses to run as root).
Each test then gets a database of its own (:meth:`PostgresServer.new_database`).

Tests skip with a reason where PostgreSQL is not installed, except under CI (``CI`` set),
where a missing server is a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROLE = "wattprint"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory (Debian keeps it off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def need_postgres() -> Path:
    bin_dir = pg_bin()
    if bin_dir is not None and (bin_dir / "postgres").exists():
        return bin_dir
    if os.environ.get("CI"):
        pytest.fail("CI installs postgresql (.ci/run): initdb/postgres not found")
    pytest.skip("needs PostgreSQL's server (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    root: Path
    port: int
    bin_dir: Path
    who: dict[str, object]  # the user it runs as (root's tests: postgres)
    databases: list[str] = field(default_factory=list)

    def url(self, database: str, user: str = ROLE) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> object:
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{os.urandom(6).hex()}"
        with self.admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.root / "data"), "-m",
             "immediate", "-w", "-t", "30"],
            capture_output=True, check=False, **self.who,  # type: ignore[call-overload]
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def _as_server_user() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the 'postgres' user (Debian's postgresql creates it)")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def start_postgres() -> PostgresServer:
    bin_dir = need_postgres()
    who = _as_server_user()
    # Not pytest's tmp_path: its directories are private to the test's user (0700).
    root = Path(tempfile.mkdtemp(prefix="wattprint-pg-"))
    if who:
        os.chown(root, int(who["user"]), int(who["group"]))  # type: ignore[call-overload]
    data = root / "data"
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
        check=True, capture_output=True, **who,  # type: ignore[call-overload]
    )  # fmt: skip
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
    )
    # pg_ctl detaches the server: it must not be a child of the test process, whose process
    # tree the trackers under test walk (a server's backends coming and going would count).
    started = subprocess.run(
        [str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-l", str(root / "server.log"),
         "-o", options, "-w", "-t", "30"],
        capture_output=True, **who,  # type: ignore[call-overload]
    )  # fmt: skip
    server = PostgresServer(root, port, bin_dir, who)
    if started.returncode != 0:
        text = (root / "server.log").read_text(errors="replace")[-2000:]
        server.stop()
        pytest.fail(f"PostgreSQL did not start: {started.stderr!r} {text}")
    return server


@contextlib.contextmanager
def postgres_session() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
