from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeClock, FakeProc
from tests.pg import PostgresServer, postgres_session
from wattprint.settings import env_name, env_names


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's wattprint settings (every variable of the settings
    table, and a config file in the user's config directory), nor write to their run store."""
    for var in env_names():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config-home"))
    monkeypatch.setenv(env_name("db"), str(tmp_path / "wattprint-test-runs.sqlite3"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_proc(tmp_path: Path) -> FakeProc:
    return FakeProc(tmp_path / "proc")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session (started only if a test asks for it)."""
    with postgres_session() as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's PostgreSQL."""
    return postgres_server.new_database()
