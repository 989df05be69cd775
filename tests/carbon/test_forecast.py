"""The least-CO2 start in the next 24 h from a forecast (a provider stand-in at the Provider
boundary: hourly forecast bins of known intensity)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, FakeProc
from wattprint.carbon.forecast import best_start
from wattprint.carbon.providers import Bin
from wattprint.errors import ProviderError
from wattprint.sensors.discovery import HardwareOptions

NOW = datetime(2026, 3, 1, 10, 20, tzinfo=timezone.utc)
H = timedelta(hours=1)


class Forecast:
    """Hourly forecast: 400 g/kWh, except 03:00-05:00 next night at 100."""

    name = "test"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return []

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        if self.fail:
            raise ProviderError("test: no answer within 3 s")
        t = start.replace(minute=0, second=0, microsecond=0)
        out = []
        while t < end:
            value = 100.0 if t.hour in (3, 4) else 400.0
            out.append(Bin(t, t + H, value, "test-forecast", "forecast"))
            t += H
        return out


def test_the_cheapest_window_is_found_with_its_saving() -> None:
    best = best_start(Forecast(), "GB", NOW, 2 * 3600.0, 2.0, 300.0, 1.0)
    assert best is not None
    assert best.start == datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    assert best.co2_kg == pytest.approx(2.0 * 100 / 1000)
    assert best.co2_now_kg == pytest.approx(2.0 * 400 / 1000)
    assert best.saving_kg == pytest.approx(0.6)


def test_no_forecast_no_answer() -> None:
    assert best_start(Forecast(fail=True), "GB", NOW, 3600.0, 1.0, 300.0, 1.0) is None
    assert best_start(Forecast(), "GB", NOW, 0.0, 1.0, 300.0, 1.0) is None


def test_the_prediction_carries_the_best_start(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "test")
    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: Forecast())
    hw = HardwareOptions(
        powercap_dir=tmp_path / "none",
        proc_dir=fake_proc.root,
        cgroup_root=tmp_path / "none",
        storage=False,
    )
    t = wattprint.Tracker(
        hardware=hw, clock=clock, background=False, scope="machine", db=False, zone="GB"
    ).start()
    t.start_training(epochs=3)
    clock.advance(600.0)
    fake_proc.run_for(600.0, busy_cpus=1.0)
    t.epoch(loss=1.0)
    p = t._book.prediction if t._book else None
    assert p is not None and p.best_start_at is not None
    assert p.best_start_co2_kg is not None and p.co2_if_started_now_kg is not None
    assert p.best_start_co2_kg <= p.co2_if_started_now_kg
    t.stop()
