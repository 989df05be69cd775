from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeClock, FakeProc


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's wattprint settings, nor write to their run store."""
    for var in (
        "WATTPRINT_POWERCAP_DIR",
        "WATTPRINT_CPU_TDP_W",
        "WATTPRINT_CPU_MODEL",
        "WATTPRINT_ZONE",
        "WATTPRINT_SIGNING_KEY",
        "WATTPRINT_INTENSITY_PROVIDER",
        "WATTPRINT_ELECTRICITYMAPS_TOKEN",
        "WATTPRINT_WATTTIME_USER",
        "WATTPRINT_WATTTIME_PASSWORD",
        "WATTPRINT_TARIFF",
        "WATTPRINT_MARGINAL_PROVIDER",
        "WATTPRINT_WATTTIME_REGION",
        "WATTPRINT_CONFIG",
        "WATTPRINT_CLOUD_METADATA",
        "WATTPRINT_IP_GEOLOCATION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WATTPRINT_DB", str(tmp_path / "wattprint-test-runs.sqlite3"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_proc(tmp_path: Path) -> FakeProc:
    return FakeProc(tmp_path / "proc")
