"""The daemon around the state: how often it reads the sensors, the sampling loop (a fake
clock and a fake wait: no sleeps), the address it binds, a missing client library, and the
server in process."""

from __future__ import annotations

import sys
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.fakes import FakeClock, FakePowercap, intel_two_socket
from tests.monitor.test_state import samples, value
from wattprint.cli import build_parser, main
from wattprint.meter import Meter
from wattprint.monitor.daemon import (
    Cadence,
    MonitorOptions,
    bind_warning,
    build_state,
    cadence,
    sampling_loop,
    serve,
)
from wattprint.monitor.state import MonitorState
from wattprint.sensors.discovery import HardwareOptions
from wattprint.settings import resolve


def fake_meter(*sensors: tuple[float, bool], live: bool = True) -> Meter:
    """Only what cadence() reads: each sensor's (max_interval_s, slow)."""
    return cast(
        Meter,
        SimpleNamespace(
            sensors=[SimpleNamespace(max_interval_s=m, slow=slow) for m, slow in sensors],
            is_live=lambda i: live,
        ),
    )


def test_cadence_reads_sooner_where_a_sensor_needs_it() -> None:
    inf = float("inf")
    assert cadence(fake_meter((inf, False), (inf, True)), 5.0) == Cadence(5.0, 5.0)
    # A GPU integrated from its power readings: fast reads every 0.1 s, samples every 5 s.
    assert cadence(fake_meter((0.1, False), (inf, True)), 5.0) == Cadence(5.0, 0.1)
    # A RAPL counter that wraps twice in 2 x 120 s at full power: samples every 120 s at most.
    assert cadence(fake_meter((120.0, False)), 3600.0) == Cadence(3600.0, 120.0)
    assert cadence(fake_meter((120.0, True)), 3600.0) == Cadence(120.0, 120.0)
    assert cadence(fake_meter((0.1, False), live=False), 5.0) == Cadence(5.0, 5.0)  # a dead sensor
    assert cadence(fake_meter((0.0, False)), 5.0).tick_s == 0.01  # never a spinning loop


def test_a_long_interval_on_rapl_still_sees_every_wrap(tmp_path: Path) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    state = build_state(resolve({}), hw, top=5, clock=FakeClock())
    state.begin()
    every = cadence(state.meter, 3600.0)
    # 262 kJ counters read as up to 3x their power limits: none can wrap twice between samples.
    assert every.sample_s == every.tick_s == state.meter.max_interval_s < 200
    state.close()


class Recorder:
    """A fake stop.wait: advances the clock by the timeout; says stop after ``n`` waits."""

    def __init__(self, clock: FakeClock, n: int) -> None:
        self.clock, self.n, self.waits = clock, n, 0

    def __call__(self, timeout_s: float) -> bool:
        self.waits += 1
        self.clock.advance(timeout_s)
        return self.waits > self.n


@pytest.fixture
def machine(tmp_path: Path) -> tuple[FakePowercap, FakeClock, MonitorState]:
    pc = intel_two_socket(tmp_path / "sys")
    clock = FakeClock()
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    return pc, clock, build_state(resolve({}), hw, top=5, clock=clock)


def test_the_loop_samples_every_interval_and_ticks_between(
    machine: tuple[FakePowercap, FakeClock, MonitorState],
) -> None:
    _, clock, state = machine
    state.begin()
    calls: list[str] = []
    sample, tick = state.sample, state.tick
    state.sample = lambda: (calls.append("sample"), sample())[1]  # type: ignore[method-assign]
    state.tick = lambda: (calls.append("tick"), tick())[0]  # type: ignore[method-assign]
    wait = Recorder(clock, 12)
    sampling_loop(state, cadence(fake_meter((0.25, False)), 1.0), wait, clock)
    assert calls == ["tick", "tick", "tick", "sample"] * 3
    assert value(samples(state), "wattprint_monitor_samples_total") == 3


def test_a_gap_in_a_fast_read_marks_the_sensor_down_at_the_next_sample(
    machine: tuple[FakePowercap, FakeClock, MonitorState],
) -> None:
    pc, clock, state = machine
    state.begin()
    energy_uj = pc.zones["intel-rapl:1"].path / "energy_uj"
    energy_uj.write_text("\n")
    clock.advance(1)
    state.tick()  # package-1 fails here...
    clock.advance(1)
    pc.zones["intel-rapl:0"].add_energy_j(20.0)
    state.sample()  # ...and still at the sample
    s = samples(state)
    assert value(s, "wattprint_sensor_up", device="package-1") == 0
    assert value(s, "wattprint_power_watts", device="package-0") == pytest.approx(10.0)  # 2 s
    pc.zones["intel-rapl:1"].add_energy_j(30.0)  # readable again, the counter kept counting
    clock.advance(1)
    state.tick()
    clock.advance(1)
    state.sample()
    s = samples(state)
    assert value(s, "wattprint_sensor_up", device="package-1") == 1
    # The counter held the energy of the failed reads: the gap was filled, nothing lost.
    assert value(s, "wattprint_energy_joules_total", device="package-1") == pytest.approx(30.0)


def test_a_sample_that_fails_as_a_whole_marks_every_sensor_down(
    machine: tuple[FakePowercap, FakeClock, MonitorState], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clock, state = machine
    state.begin()
    state.sample()
    read = state.meter.probe.read

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no /proc")

    monkeypatch.setattr(state.meter.probe, "read", broken)
    clock.advance(1)
    state.tick()
    state.sample()
    s = samples(state)
    assert value(s, "wattprint_monitor_failed_samples_total") == 2
    assert {v for (n, _), v in s.items() if n == "wattprint_sensor_up"} == {0.0}
    monkeypatch.setattr(state.meter.probe, "read", read)
    clock.advance(1)
    state.sample()
    assert value(samples(state), "wattprint_sensor_up", device="package-0") == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_binds_quietly(host: str) -> None:
    assert bind_warning(host.strip("[]")) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.5", "node-01.internal"])
def test_any_other_address_is_warned_about_in_one_line(host: str) -> None:
    warning = bind_warning(host)
    assert warning is not None and "\n" not in warning and "read its metrics" in warning


def test_loopback_is_the_default() -> None:
    args = build_parser("monitor").parse_args(["monitor"])
    assert (args.host, args.port, args.interval, args.top) == ("127.0.0.1", 9875, 5.0, 10)
    assert MonitorOptions().host == "127.0.0.1"


def test_without_the_client_library_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails
    assert main(["monitor", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'wattprint[monitor]'" in err
    marker = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    assert main(["run", "--push", "http://127.0.0.1:9091", "--", *cmd]) == 2
    err = capsys.readouterr().err
    assert "run --push" in err and "pip install 'wattprint[monitor]'" in err
    assert not marker.exists()  # before the command


def test_the_server_in_process_serves_and_stops(tmp_path: Path) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False, gpu=False)
    state = build_state(resolve({}), hw, top=5)
    stop = threading.Event()
    ports: list[int] = []
    ready = threading.Event()

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    thread = threading.Thread(
        target=serve, args=(state, MonitorOptions(port=0, interval_s=0.05), stop, on_ready)
    )
    thread.start()
    try:
        assert ready.wait(10)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/metrics", timeout=5) as r:
            text = r.read().decode()
        assert "wattprint_energy_joules_total{" in text and "process_cpu_seconds_total" in text
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
