from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fakes import FakeClock, amd_two_die, intel_two_socket
from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component
from wattprint.sensors.discovery import HardwareOptions
from wattprint.sensors.rapl import find_zones
from wattprint.tracker import Tracker


def machine_tracker(sys_root: Path, clock: FakeClock, tmp_path: Path) -> Tracker:
    hw = HardwareOptions(powercap_dir=sys_root / "class" / "powercap", storage=False)
    return Tracker(scope="machine", hardware=hw, clock=clock, background=False)


def test_intel_layout_counts_packages_and_dram_not_core_or_mmio(tmp_path: Path) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    zones = find_zones(pc.class_dir)
    assert [(z.device, z.component) for z in zones] == [
        ("package-0", Component.CPU),
        ("package-0/dram", Component.RAM),
        ("package-1", Component.CPU),
        ("package-1/dram", Component.RAM),
    ]
    assert zones[0].max_power_w == 300.0


def test_multi_die_and_psys(tmp_path: Path) -> None:
    from tests.fakes import FakePowercap

    pc = FakePowercap(tmp_path / "sys")
    pc.add_zone("intel-rapl:0", "package-0-die-0")
    pc.add_zone("intel-rapl:1", "package-0-die-1")
    pc.add_zone("intel-rapl:2", "psys")
    assert [z.device for z in find_zones(pc.class_dir)] == ["package-0-die-0", "package-0-die-1"]


def test_no_powercap_tree_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailableError):
        find_zones(tmp_path / "nothing")


def test_energy_equals_truth_with_a_wrap_on_two_sockets(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    pkg0 = pc.zones["intel-rapl:0"]
    pkg0.set_counts(pkg0.modulus - 50_000)  # package-0 is about to wrap
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    truth = {"package-0": 0.0, "package-1": 0.0, "package-0/dram": 0.0, "package-1/dram": 0.0}
    ids = {
        "package-0": "intel-rapl:0",
        "package-1": "intel-rapl:1",
        "package-0/dram": "intel-rapl:0:1",
        "package-1/dram": "intel-rapl:1:1",
    }
    for tick in range(120):
        clock.advance(1.0)
        for device, zone_id in ids.items():
            power_w = (180.0 if "dram" not in device else 20.0) + (tick % 7) * 3.3
            pc.zones[zone_id].add_energy_j(power_w)
            pc.zones["intel-rapl:0:0"].add_energy_j(power_w / 2)  # core: inside the package
            truth[device] += power_w
        tracker.sample()
    assert pkg0.counts < 2**31  # it started 50,000 counts below the top: it wrapped
    run = tracker.stop()
    by_device = {c.device: c for c in run.components}
    for device, energy_j in truth.items():
        got = by_device[device].energy_j
        assert got == pytest.approx(energy_j, rel=1e-3), device
        assert by_device[device].provenance == "measured"
    assert {c.name for c in run.components} == {"cpu", "ram"}
    assert run.energy_j == pytest.approx(sum(truth.values()), rel=1e-3)
    assert run.duration_s == pytest.approx(120.0)
    assert not run.warnings


def test_amd_layout_with_wraps_between_sparse_reads(tmp_path: Path, clock: FakeClock) -> None:
    """AMD's 65.5 kJ range wraps every ~4 min at 280 W; reads every 60 s still see each wrap."""
    pc = amd_two_die(tmp_path / "sys")
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    assert tracker.meter is not None
    # No constraint files: 3x the fallback maximum (1000 W) bounds the read interval to 11 s.
    assert tracker.meter.max_interval_s == pytest.approx(65_535 / 3000 / 2, rel=1e-3)
    truth = 0.0
    for _ in range(30):
        clock.advance(30.0)
        for zone_id in ("intel-rapl:0", "intel-rapl:1"):
            pc.zones[zone_id].add_energy_j(280.0 * 30)
            truth += 280.0 * 30
        tracker.sample()
    run = tracker.stop()
    assert [c.device for c in run.components if c.name == "cpu"] == ["package-0", "package-1"]
    assert sum(c.energy_j for c in run.components if c.name == "cpu") == pytest.approx(
        truth, rel=1e-3
    )
    # no dram zone on AMD: RAM falls back to the model
    assert [c.provenance for c in run.components if c.name == "ram"] == ["estimated"]


def test_one_second_window_captures_its_share(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()

    def run_for(seconds: float, power_w: float) -> None:
        for _ in range(int(seconds * 10)):
            clock.advance(0.1)
            pc.zones["intel-rapl:0"].add_energy_j(power_w * 0.1)
            pc.zones["intel-rapl:1"].add_energy_j(50.0 * 0.1)

    for _ in range(30):  # 30 s at 100 W, sampled at 1 Hz
        run_for(1.0, 100.0)
        tracker.sample()
    run_for(0.35, 100.0)  # the window starts between two ticks
    tracker.begin_window("step")
    run_for(1.0, 250.0)
    window = tracker.end_window("step")
    run_for(10.0, 100.0)
    run = tracker.stop()
    cpu = {c.device: c.energy_j for c in window.components if c.name == "cpu"}
    assert cpu["package-0"] == pytest.approx(250.0, rel=0.01)
    assert cpu["package-1"] == pytest.approx(50.0, rel=0.01)
    assert window.duration_s == pytest.approx(1.0)
    assert run.windows == (window,)


def test_counter_reset_is_a_gap_with_one_warning(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    pkg0 = pc.zones["intel-rapl:0"]
    pkg0.set_counts(2**31)  # halfway: a drop to 0 cannot be a wrap at 300 W
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    for tick in range(10):
        clock.advance(1.0)
        if tick == 4:
            pkg0.set_counts(0)  # driver reloaded
        pkg0.add_energy_j(100.0)
        with pytest.warns(UserWarning) if tick == 4 else _NoWarning():
            tracker.sample()
    run = tracker.stop()
    pkg = next(c for c in run.components if c.device == "package-0")
    assert pkg.energy_j == pytest.approx(900.0, rel=1e-3)  # 9 of 10 intervals
    assert pkg.gap_s == pytest.approx(1.0)
    assert len([w for w in run.warnings if "reset" in w]) == 1


class _NoWarning:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


def test_sampler_interval_is_capped_by_the_wrap_time(tmp_path: Path, clock: FakeClock) -> None:
    from tests.fakes import FakePowercap

    pc = FakePowercap(tmp_path / "sys")
    zone = pc.add_zone(
        "intel-rapl:0", "package-0", max_power_uw=300_000_000, unit_uj=1.0
    )  # a tiny 4.3 kJ range
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    tracker = Tracker(
        scope="machine", hardware=hw, clock=clock, interval_s=60.0, background=False
    ).start()
    assert tracker.meter is not None
    assert tracker.meter.max_interval_s == pytest.approx(zone.range_uj / 1e6 / 900 / 2)
    tracker.stop()


@pytest.mark.skipif(not hasattr(os, "setuid"), reason="POSIX only")
def test_root_only_counters_fall_back_to_the_model_with_a_clear_message(tmp_path: Path) -> None:
    """CVE-2020-8694: energy_uj is 0400 root. Root reads anything, so when the tests run as
    root the check runs in a child that drops to an unprivileged user."""
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"wattprint-perm-{os.getpid()}"
    base.mkdir(mode=0o755, exist_ok=True)
    try:
        os.chmod(base, 0o755)
        pc = intel_two_socket(base / "sys")
        for zone in pc.zones.values():
            os.chmod(zone.path / "energy_uj", 0o400)
        code = textwrap.dedent(f"""
            import os, sys
            sys.path[:0] = {[str(Path(__file__).resolve().parents[2] / "src")]!r}
            from wattprint.sensors import cpu_db
            from wattprint.sensors.discovery import HardwareOptions, discover
            cpu_db.lookup("warm the cache: the interpreter's files may be root-only")
            if os.geteuid() == 0:
                os.setgid(65534); os.setuid(65534)
            found = discover(HardwareOptions(powercap_dir={str(pc.class_dir)!r}, storage=False))
            print([s.info.method for s in found.sensors])
            print(found.unavailable[0].reason)
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
        ).stdout
        methods, reason = out.splitlines()[:2]
        assert "tdp-model" in methods and "rapl" not in methods
        assert "CVE-2020-8694" in reason and "WATTPRINT_POWERCAP_DIR" in reason
        assert "chmod" in reason
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_nested_devices_layout_finds_dram_too(tmp_path: Path) -> None:
    """WATTPRINT_POWERCAP_DIR may point at /sys/devices/virtual/powercap (or its intel-rapl
    directory), where each sub-zone sits inside its package's directory."""
    pc = intel_two_socket(tmp_path / "sys")
    devices = tmp_path / "sys" / "devices" / "virtual" / "powercap"
    expected = ["package-0", "package-0/dram", "package-1", "package-1/dram"]
    assert [z.device for z in find_zones(devices)] == expected
    assert [z.device for z in find_zones(devices / "intel-rapl")] == expected
    assert [z.device for z in find_zones(pc.class_dir)] == expected


def test_failed_read_is_a_gap_until_the_counter_is_read_again(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that fails (EIO) leaves the energy in the counter: the next good read counts it
    and the gap is withdrawn; the wrap check uses the time since the last good read."""
    pc = intel_two_socket(tmp_path / "sys")
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    assert tracker.meter is not None
    sensor = next(s for s in tracker.meter.sensors if s.info.device == "package-0")
    real_read = sensor._energy_file.read  # type: ignore[attr-defined]

    def failing(size: int = 65536) -> bytes:
        raise OSError(5, "Input/output error")

    for tick in range(6):
        clock.advance(1.0)
        pc.zones["intel-rapl:0"].add_energy_j(100.0)
        if tick in (2, 3):
            monkeypatch.setattr(sensor._energy_file, "read", failing)  # type: ignore[attr-defined]
            expect = pytest.warns(UserWarning, match="Input/output error")
            with expect if tick == 2 else _NoWarning():
                tracker.sample()
            assert tracker.meter.gap_s(0, 0, clock.t_s) == pytest.approx(tick - 1)
        else:
            monkeypatch.setattr(sensor._energy_file, "read", real_read)  # type: ignore[attr-defined]
            tracker.sample()
    run = tracker.stop()
    pkg = next(c for c in run.components if c.device == "package-0")
    assert pkg.energy_j == pytest.approx(600.0, rel=1e-4)
    assert pkg.gap_s == 0.0


def test_turbo_above_the_declared_maximum_still_wraps(tmp_path: Path, clock: FakeClock) -> None:
    """constraint_0_max_power_uw is often PL1 (~TDP); turbo draws more. A wrap at 200 W on a
    zone declaring 125 W is a wrap, not a reset."""
    from tests.fakes import FakePowercap

    pc = FakePowercap(tmp_path / "sys")
    zone = pc.add_zone("intel-rapl:0", "package-0", max_power_uw=125_000_000)
    zone.set_counts(zone.modulus - 1000)
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    with _NoWarning():
        for _ in range(5):
            clock.advance(1.0)
            zone.add_energy_j(200.0)
            tracker.sample()
    run = tracker.stop()
    assert run.component("cpu")[0].energy_j == pytest.approx(1000.0, rel=1e-4)
    assert run.component("cpu")[0].gap_s == 0.0


def test_back_to_back_reads_never_look_like_a_reset(tmp_path: Path, clock: FakeClock) -> None:
    """Window edges can read a counter microseconds after a tick; one ~1 ms RAPL update then
    implies kilowatts. That must not be judged a reset."""
    pc = intel_two_socket(tmp_path / "sys")
    tracker = machine_tracker(tmp_path / "sys", clock, tmp_path).start()
    with _NoWarning():
        for _ in range(20):
            clock.advance(0.00005)
            pc.zones["intel-rapl:0"].add_energy_j(0.3)  # one update's worth at 300 W
            tracker.sample()
    assert tracker.stop().component("cpu")[0].energy_j == pytest.approx(6.0, rel=1e-3)


def test_unreadable_counters_fall_back_to_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """energy_uj returns EIO when the MSR read fails (offline CPUs, some hypervisors)."""
    from wattprint.sensors.discovery import discover
    from wattprint.sensors.pread import PreadFile

    pc = intel_two_socket(tmp_path / "sys")
    real = PreadFile.read

    def eio(self: PreadFile, size: int = 65536) -> bytes:
        if self.path.endswith("energy_uj"):
            raise OSError(5, "Input/output error")
        return real(self, size)

    monkeypatch.setattr(PreadFile, "read", eio)
    found = discover(HardwareOptions(powercap_dir=pc.class_dir, storage=False))
    assert next(s.info.method for s in found.sensors).startswith("tdp-model")
    assert any("unreadable" in w for w in found.warnings)
