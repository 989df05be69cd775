from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeClock, FakeProc


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's wattprint settings."""
    for var in (
        "WATTPRINT_POWERCAP_DIR",
        "WATTPRINT_CPU_TDP_W",
        "WATTPRINT_CPU_MODEL",
        "WATTPRINT_ZONE",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_proc(tmp_path: Path) -> FakeProc:
    return FakeProc(tmp_path / "proc")
