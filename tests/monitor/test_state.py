"""The monitor's readings and its metrics, in process, on fake hardware at the lowest
boundary (a powercap sysfs tree, tests/fakes.py) and an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import FakeClock, FakePowercap, intel_two_socket
from tests.monitor.test_cgroups import FakeCgroupTree
from wattprint.monitor.daemon import build_state
from wattprint.monitor.exposition import MonitorCollector
from wattprint.monitor.state import MonitorState
from wattprint.sensors.discovery import HardwareOptions
from wattprint.settings import resolve


def samples(state: MonitorState) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape, parsed as Prometheus parses it: {(name, labels): value}."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(state.reading, "test"))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    matches = [
        v for (n, ls), v in scrape.items() if n == name and labels.items() <= dict(ls).items()
    ]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


@pytest.fixture
def machine(tmp_path: Path) -> tuple[FakePowercap, FakeClock, HardwareOptions, FakeCgroupTree]:
    pc = intel_two_socket(tmp_path / "sys")
    cgroups = FakeCgroupTree(tmp_path / "cgroup")
    hw = HardwareOptions(
        powercap_dir=pc.class_dir, storage=False, gpu=False, cgroup_root=cgroups.root
    )
    return pc, FakeClock(), hw, cgroups


def test_counters_power_and_co2_follow_the_hardware(machine: tuple) -> None:  # type: ignore[type-arg]
    pc, clock, hw, _ = machine
    state = build_state(resolve({"zone": "FR", "pue": 1.2}), hw, top=5, clock=clock)
    state.begin()
    state.sample()
    first = samples(state)
    assert value(first, "wattprint_energy_joules_total", device="package-0") == 0.0
    clock.advance(10)
    pc.zones["intel-rapl:0"].add_energy_j(500.0)
    pc.zones["intel-rapl:1"].add_energy_j(300.0)
    state.sample()
    s = samples(state)
    assert value(
        s, "wattprint_energy_joules_total", device="package-0", provenance="measured"
    ) == pytest.approx(500.0)
    assert value(s, "wattprint_power_watts", device="package-1") == pytest.approx(30.0)
    assert value(s, "wattprint_sensor_up", device="package-0") == 1.0
    intensity = value(s, "wattprint_grid_intensity_grams_per_kwh", zone="FR", basis="lifecycle")
    total_j = sum(v for (n, _), v in s.items() if n == "wattprint_energy_joules_total")
    assert value(s, "wattprint_co2_grams_total", zone="FR") == pytest.approx(
        total_j / 3.6e6 * 1.2 * intensity
    )
    assert value(s, "wattprint_pue") == 1.2
    assert value(s, "wattprint_monitor_samples_total") == 2.0
    assert value(s, "wattprint_build_info", version="test") == 1.0


def test_a_broken_sensor_is_down_and_never_fails_the_scrape(machine: tuple) -> None:  # type: ignore[type-arg]
    pc, clock, hw, _ = machine
    state = build_state(resolve({}), hw, top=5, clock=clock)
    state.begin()
    state.sample()
    energy_uj = pc.zones["intel-rapl:1"].path / "energy_uj"
    energy_uj.write_text("\n")  # the read fails (as with -EIO from a driver that went away)
    clock.advance(5)
    pc.zones["intel-rapl:0"].add_energy_j(100.0)
    state.sample()
    s = samples(state)
    assert value(s, "wattprint_sensor_up", device="package-1") == 0.0
    assert value(s, "wattprint_sensor_up", device="package-0") == 1.0
    assert value(s, "wattprint_energy_joules_total", device="package-0") == pytest.approx(100.0)
    before = value(s, "wattprint_energy_joules_total", device="package-1")
    pc.zones["intel-rapl:1"]._write()  # back: it counts again from the next interval
    clock.advance(5)
    pc.zones["intel-rapl:1"].add_energy_j(40.0)
    state.sample()
    s = samples(state)
    assert value(s, "wattprint_sensor_up", device="package-1") == 1.0
    assert value(s, "wattprint_energy_joules_total", device="package-1") >= before
    assert state.meter.gaps == []  # taken at each sample: nothing piles up


def test_no_zone_means_no_co2_series(machine: tuple) -> None:  # type: ignore[type-arg]
    _, clock, hw, _ = machine
    state = build_state(resolve({}), hw, top=5, clock=clock)
    state.begin()
    state.sample()
    names = {n for n, _ in samples(state)}
    assert "wattprint_energy_joules_total" in names
    assert not {"wattprint_co2_grams_total", "wattprint_grid_intensity_grams_per_kwh"} & names


def test_a_scrape_reads_no_sensor(machine: tuple) -> None:  # type: ignore[type-arg]
    pc, clock, hw, _ = machine
    state = build_state(resolve({"zone": "DE"}), hw, top=5, clock=clock)
    state.begin()
    clock.advance(1)
    pc.zones["intel-rapl:0"].add_energy_j(50.0)
    state.sample()
    before = samples(state)
    for zone in pc.zones.values():
        (zone.path / "energy_uj").write_text("\n")  # a sensor read now would fail
    assert samples(state) == before


def test_cgroup_energy_in_the_scrape(machine: tuple) -> None:  # type: ignore[type-arg]
    pc, clock, hw, cgroups = machine
    cgroups.burn("system.slice/train.service", 0)
    cgroups.burn("user.slice/user-1000.slice", 0)
    state = build_state(resolve({}), hw, top=1, clock=clock)
    state.begin()
    clock.advance(10)
    cgroups.burn("system.slice/train.service", 3.0)
    cgroups.burn("user.slice/user-1000.slice", 1.0)
    pc.zones["intel-rapl:0"].add_energy_j(400.0)  # package-0: CPU; dram is RAM
    state.sample()
    s = samples(state)
    cpu_j = sum(
        v for (n, ls), v in s.items()
        if n == "wattprint_energy_joules_total" and dict(ls)["component"] == "cpu"
    )  # fmt: skip
    train = value(
        s, "wattprint_cgroup_cpu_energy_joules_total", cgroup="system.slice/train.service"
    )
    other = value(s, "wattprint_cgroup_cpu_energy_joules_total", cgroup="(other)")
    assert train == pytest.approx(0.75 * cpu_j) and other == pytest.approx(0.25 * cpu_j)


def test_co2_follows_the_live_provider_and_falls_back_when_it_fails(machine: tuple) -> None:  # type: ignore[type-arg]
    """NESO's API answered from the recorded fixture at the HTTP opener (no network)."""
    from datetime import datetime, timezone

    from tests.carbon.providers.conftest import FakeOpener, WallClock, http_error
    from wattprint.carbon.providers.neso import NesoProvider
    from wattprint.monitor.live import Current, LiveIntensity

    pc, clock, hw, _ = machine
    state = build_state(resolve({"zone": "GB"}), hw, top=5, clock=clock)
    assert state.carbon is not None
    bundled = Current(state.carbon.intensity_g_per_kwh, state.carbon.source, "lifecycle", False)
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    wall = WallClock(datetime(2024, 3, 1, 11, 15, tzinfo=timezone.utc))
    said: list[str] = []
    state.live = LiveIntensity(
        NesoProvider(opener=opener), "GB", bundled, refresh_s=900, clock=wall,
        warn=lambda key, message: said.append(message),
    )  # fmt: skip
    state.begin()
    clock.advance(10)
    pc.zones["intel-rapl:0"].add_energy_j(1000.0)  # 100 W for 10 s
    state.sample()
    s = samples(state)
    # The newest bin that has begun (11:00-11:30, 220 g/kWh), labelled as the provider's.
    assert value(s, "wattprint_grid_intensity_grams_per_kwh", zone="GB") == 220
    assert value(
        s, "wattprint_grid_intensity_grams_per_kwh", source="neso:national", basis="provider"
    )
    co2_after_live = value(s, "wattprint_co2_grams_total", zone="GB")
    assert co2_after_live == pytest.approx(1000 / 3.6e6 * 220)  # kWh x PUE 1 x 220 g/kWh
    assert len(opener.requests) == 1

    clock.advance(10)  # within refresh_s: no new request
    state.sample()
    assert len(opener.requests) == 1

    opener.routes = {"/intensity/": http_error(503, "Service Unavailable")}
    wall.advance(minutes=16)
    clock.advance(10)
    pc.zones["intel-rapl:0"].add_energy_j(1000.0)
    state.sample()
    s = samples(state)
    assert len(opener.requests) == 2 and len(said) == 1 and "unavailable" in said[0]
    assert (
        value(s, "wattprint_grid_intensity_grams_per_kwh", zone="GB") == bundled.intensity_g_per_kwh
    )
    assert value(s, "wattprint_co2_grams_total", zone="GB") == pytest.approx(
        co2_after_live + 1000 / 3.6e6 * bundled.intensity_g_per_kwh
    )
