"""A tracked run's CO2 with a live provider and a tariff: sum over bins of E x CI x PUE."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, intel_two_socket
from wattprint.carbon.providers import Bin
from wattprint.sensors.discovery import HardwareOptions


class HourlyProvider:
    """Stands in for a live provider: hourly historical bins whose intensity rises by
    100 g/kWh each hour from the hour the run started in."""

    name = "test"

    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime, datetime]] = []

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        self.asked.append((zone, start, end))
        hour = start.replace(minute=0, second=0, microsecond=0)
        bins, i = [], 0
        while hour < end:
            bins.append(
                Bin(hour, hour + timedelta(hours=1), 100.0 + 100 * i, "test-live", "historical")
            )
            hour += timedelta(hours=1)
            i += 1
        return bins

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return []


def test_three_hour_run_sums_energy_times_intensity_per_bin(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = HourlyProvider()
    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "test")
    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: provider)
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    tracker = wattprint.Tracker(
        scope="machine",
        hardware=hw,
        clock=clock,
        background=False,
        db=False,
        zone="GB",
        pue=1.5,
        tariff="00:00-12:00=0.10,12:00-24:00=0.20",
    )
    tracker.start()
    assert tracker._start is not None
    started = tracker._start.wall
    power_w = [100.0, 250.0, 50.0]  # by 60-minute stretch of the run
    first_hour = started.replace(minute=0, second=0, microsecond=0)
    expected_co2_kg = expected_cost = 0.0
    for minute in range(3 * 60):  # 3 h, read every minute, power constant within a minute
        p_w = power_w[minute // 60]
        clock.advance(60.0)
        pc.zones["intel-rapl:0"].add_energy_j(p_w * 60)
        tracker.sample()
        # The truth, split exactly at the provider's hour boundaries:
        t0 = started + timedelta(minutes=minute)
        t1 = t0 + timedelta(minutes=1)
        while t0 < t1:
            hour_end = t0.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            piece_end = min(t1, hour_end)
            kwh = p_w * (piece_end - t0).total_seconds() / 3.6e6
            hour_index = int((t0 - first_hour).total_seconds() // 3600)
            expected_co2_kg += kwh * (100.0 + 100 * hour_index) * 1.5 / 1000
            expected_cost += kwh * 1.5 * (0.10 if t0.astimezone(timezone.utc).hour < 12 else 0.20)
            t0 = piece_end
    run = tracker.stop()
    assert provider.asked and provider.asked[0][0] == "GB"
    assert run.co2_kg == pytest.approx(expected_co2_kg, rel=1e-6)
    assert run.cost == pytest.approx(expected_cost, rel=1e-6)
    assert {b.source for b in run.intensity_bins} == {"test-live"}
    assert sum(b.energy_kwh for b in run.intensity_bins) == pytest.approx(run.energy_kwh)
    assert run.intensity_source == "test-live"


def test_a_failing_provider_falls_back_to_the_table_with_one_warning(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wattprint.errors import ProviderError

    class Down(HourlyProvider):
        def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
            raise ProviderError("test provider: timed out after 3 s")

    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "test")
    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: Down())
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    tracker = wattprint.Tracker(
        scope="machine", hardware=hw, clock=clock, background=False, db=False, zone="DE"
    ).start()
    clock.advance(600.0)
    pc.zones["intel-rapl:0"].add_energy_j(60_000.0)
    with pytest.warns(UserWarning, match="timed out"):
        run = tracker.stop()
    static = wattprint.Tracker(zone="DE", db=False).carbon.intensity
    assert static is not None
    assert run.co2_kg == pytest.approx(run.energy_kwh * static.intensity_g_per_kwh / 1000)
    assert all(b.source.startswith("static") for b in run.intensity_bins)


def test_bad_tariff_is_a_one_line_error() -> None:
    with pytest.raises(wattprint.ConfigError) as info:
        wattprint.Tracker(zone="DE", tariff="00:00-07:00=0.1,08:00-24:00=0.2", db=False)
    assert "\n" not in str(info.value) and "07:00" in str(info.value)


def test_marginal_provider_is_refused_for_run_co2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "watttime")
    with pytest.raises(wattprint.ConfigError, match="marginal"):
        wattprint.Tracker(zone="US-CA", db=False)


def test_marginal_emissions_are_reported_apart(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Marginal(HourlyProvider):
        def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
            hour = start.replace(minute=0, second=0, microsecond=0)
            return [
                Bin(
                    hour,
                    hour + timedelta(hours=2),
                    700.0,
                    "watttime:co2_moer",
                    "historical",
                    "marginal",
                )
            ]

    marginal = Marginal()
    monkeypatch.setenv("WATTPRINT_MARGINAL_PROVIDER", "watttime")
    monkeypatch.setattr(
        "wattprint.carbon.plan._marginal", lambda settings: (marginal, "CAISO_NORTH")
    )
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    tracker = wattprint.Tracker(
        scope="machine", hardware=hw, clock=clock, background=False, db=False, zone="US-CA"
    ).start()
    clock.advance(60.0)
    pc.zones["intel-rapl:0"].add_energy_j(36_000.0)  # 0.01 kWh
    tracker.sample()
    run = tracker.stop()
    assert run.marginal is not None and run.marginal.signal == "marginal"
    assert run.marginal.co2_kg == pytest.approx(0.01 * 700.0 / 1000, rel=1e-6)
    assert run.co2_kg == pytest.approx(0.01 * run.intensity_g_per_kwh / 1000, rel=1e-6)


def test_marginal_needs_a_watttime_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTPRINT_MARGINAL_PROVIDER", "watttime")
    with pytest.raises(wattprint.ConfigError, match="WATTPRINT_WATTTIME_REGION"):
        wattprint.Tracker(zone="US-CA", db=False)


def test_a_window_is_priced_with_the_runs_own_bins(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window inside one provider hour gets that hour's intensity at stop(), not the
    bundled yearly value it had when it closed."""
    provider = HourlyProvider()
    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "test")
    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: provider)
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    tracker = wattprint.Tracker(
        scope="machine", hardware=hw, clock=clock, background=False, db=False, zone="GB", pue=1.2
    ).start()
    assert tracker._start is not None
    started = tracker._start.wall
    to_next_hour_s = (
        started.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1) - started
    ).total_seconds()
    for _ in range(int(to_next_hour_s // 60) + 1):  # into the second provider hour
        clock.advance(60.0)
        pc.zones["intel-rapl:0"].add_energy_j(100.0 * 60)
        tracker.sample()
    # The wall clock does not move with the fake clock: the window's own wall time is
    # that of the test; place the check on its bins instead.
    tracker.begin_window("w")
    for _ in range(10):
        clock.advance(60.0)
        pc.zones["intel-rapl:0"].add_energy_j(100.0 * 60)
        tracker.sample()
    window = tracker.end_window("w")
    static_co2 = window.co2_kg
    run = tracker.stop()
    (priced,) = run.windows
    assert priced.energy_kwh == window.energy_kwh
    bins = run.intensity_bins
    assert len(bins) >= 2
    # The window's CO2 is its energy at the intensities of the bins it overlaps, never the
    # bundled value it had when it closed.
    lo, hi = min(b.intensity_g_per_kwh for b in bins), max(b.intensity_g_per_kwh for b in bins)
    assert priced.co2_kg is not None and static_co2 is not None
    assert priced.co2_kg != pytest.approx(static_co2)
    per_kwh = priced.co2_kg / priced.energy_kwh / 1.2 * 1000
    assert lo - 1e-6 <= per_kwh <= hi + 1e-6
