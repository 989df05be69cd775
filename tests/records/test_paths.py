"""Store and output paths are judged before anything runs, and a file that is not ours is
never changed: hostile files as the store, hostile output paths."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.errors import ConfigError, StoreError
from wattprint.records.paths import check_output_path, check_store_path, inspect_store_file
from wattprint.records.store import RunStore

SRC = Path(__file__).resolve().parents[2] / "src"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    return path


def future_store(path: Path) -> Path:
    with RunStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    return path


def truncated_store(path: Path) -> Path:
    with RunStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")  # everything in the main file
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


HOSTILE = {
    "random bytes": lambda p: (p.write_bytes(os.urandom(4096)), p)[1],
    "text": lambda p: (p.write_text("not a database " * 20), p)[1],
    "foreign sqlite": foreign_sqlite,
    "future schema": future_store,
    "truncated": truncated_store,
    "dangling symlink": lambda p: (p.symlink_to(p.parent / "nowhere" / "x.db"), p)[1],
    "directory": lambda p: (p.mkdir(), p)[1],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_file_that_is_not_a_store_is_refused_and_left_as_it_was(
    tmp_path: Path, kind: str
) -> None:
    path = HOSTILE[kind](tmp_path / "store.db")
    before = digest(path) if path.is_file() else None
    with pytest.raises(StoreError) as info:
        check_store_path(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(StoreError):
        RunStore(path)
    after = digest(path) if path.is_file() else None
    assert before == after  # not switched to WAL, not migrated, not truncated further
    assert not Path(f"{path}-wal").exists() or kind in ("future schema", "truncated")


def test_dev_null_is_not_a_store() -> None:
    with pytest.raises(StoreError, match="not a regular file"):
        check_store_path("/dev/null")


@pytest.mark.parametrize("kind", ["random bytes", "foreign sqlite", "dangling symlink"])
def test_wattprint_run_refuses_a_bad_store_before_the_command(tmp_path: Path, kind: str) -> None:
    bad = HOSTILE[kind](tmp_path / "store.db")
    marker = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(PYTHONPATH=str(SRC), WATTPRINT_CPU_TDP_W="100")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattprint",
            "run",
            "--db",
            str(bad),
            "--",
            sys.executable,
            "-c",
            f"open({str(marker)!r}, 'w')",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "error" in res.stderr
    assert not marker.exists()  # the command never ran


def test_a_new_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "runs.sqlite3"
    with RunStore(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new" / "deeper").stat().st_mode & 0o777 == 0o700


def test_empty_and_absent_files_are_fine(tmp_path: Path) -> None:
    inspect_store_file(tmp_path / "absent.db")
    (tmp_path / "empty.db").write_bytes(b"")
    inspect_store_file(tmp_path / "empty.db")


@pytest.mark.parametrize(
    ("path", "words"),
    [("", "empty"), ("/proc/version", "cannot be written"), ("/nonexistent/x.json", "exist")],
)
def test_output_paths_that_cannot_be_written(path: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        check_output_path(path, "--json")


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_any_bytes_are_a_store_or_one_line_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "store.db"
    path.write_bytes(data)
    try:
        inspect_store_file(path, 3)
    except StoreError as exc:
        assert "\n" not in str(exc)
    assert path.read_bytes() == data


def test_write_atomic_keeps_the_mode_and_writes_through_a_symlink(tmp_path: Path) -> None:
    from wattprint.records.paths import write_atomic

    target = tmp_path / "shared" / "run.json"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "run.json"
    link.symlink_to(target)
    write_atomic(link, "new\n")
    assert link.is_symlink()  # the link stays a link; the file it names is replaced
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["run.json"]  # no temp left


def test_write_atomic_gives_a_new_file_the_umasks_mode(tmp_path: Path) -> None:
    from wattprint.records.paths import write_atomic

    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.json", "{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o640


# -- PostgreSQL URLs ---------------------------------------------------------------------------
PASSWORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=6
).filter(lambda s: "/" not in s)  # libpq ends the user information at the first "/"


@given(password=PASSWORDS, user=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
@settings(max_examples=200)
def test_a_url_is_shown_without_its_password(password: str, user: str) -> None:
    from urllib.parse import quote

    from wattprint.records.paths import redact_url, shown_store

    for secret in (password, quote(password, safe="")):
        url = f"postgresql://{user}:{secret}@db.internal:5432/runs?sslmode=require"
        shown = shown_store(url)
        assert secret not in shown and shown == redact_url(url)
        assert shown.startswith(f"postgresql://{user}:***@db.internal:5432/runs")
    param = f"postgresql://{user}@db.internal/runs?password={quote(password, safe='')}"
    assert quote(password, safe="") not in redact_url(param)


@given(text=st.text(max_size=80))
@settings(max_examples=300)
def test_any_postgres_url_is_accepted_or_a_one_line_store_error(text: str) -> None:
    from wattprint.records.paths import check_postgres_url

    url = "postgresql://" + text
    try:
        check_postgres_url(url)
    except StoreError as exc:
        assert "\n" not in str(exc) and "postgresql://" in str(exc)


def test_store_paths_that_are_postgres_urls() -> None:
    check_store_path("postgresql://alice@db.internal/runs")
    check_store_path("postgres:///runs?host=/run/postgresql")
    check_store_path("postgresql://bob:se?c#r[et@db:5432/runs")  # libpq takes such a password
    check_store_path("postgresql://db1:5432,db2:5433/runs?target_session_attrs=read-write")
    check_store_path("postgresql://db.internal?sslmode=require")
    with pytest.raises(StoreError) as info:
        check_store_path("postgresql://bob:se?cret@db:port/runs")
    assert "se?cret" not in str(info.value) and "bob:***@db:port" in str(info.value)
    for bad in ("postgresql://db:port/runs", "postgresql://", "postgresql://h /x"):
        with pytest.raises(StoreError, match="not a PostgreSQL URL"):
            check_store_path(bad)
