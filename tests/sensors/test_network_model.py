"""The network estimate: bytes moved on physical interfaces (a /proc/net/dev laid out as the
kernel writes it: two header lines, then per interface 8 receive and 8 transmit counters)
times the cited factor; machine scope only."""

from __future__ import annotations

from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, FakeProc
from tests.test_tracker import model_tracker
from wattprint.errors import ConfigError
from wattprint.sensors.base import Usage
from wattprint.sensors.network_model import (
    J_PER_BYTE,
    KWH_PER_GB,
    NetworkModelSensor,
    read_net_dev,
)

HEAD = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
)


def _write(proc: Path, eth0: tuple[int, int], lo: int = 0, veth: int = 0) -> None:
    (proc / "net").mkdir(parents=True, exist_ok=True)
    rows = [
        f"    lo: {lo} 10 0 0 0 0 0 0 {lo} 10 0 0 0 0 0 0",
        f"  eth0: {eth0[0]} 5 0 0 0 0 0 0 {eth0[1]} 5 0 0 0 0 0 0",
        f"veth12ab: {veth} 5 0 0 0 0 0 0 {veth} 5 0 0 0 0 0 0",
    ]
    (proc / "net" / "dev").write_text(HEAD + "\n".join(rows) + "\n")


def test_the_factor_is_the_papers_trend_to_2025() -> None:
    assert pytest.approx(0.06 / 32) == KWH_PER_GB
    assert pytest.approx(0.06 / 32 * 3.6e6 / 1e9) == J_PER_BYTE


def test_bytes_on_physical_interfaces_only(tmp_path: Path) -> None:
    _write(tmp_path, (1000, 2000), lo=10**9, veth=10**9)
    assert read_net_dev(tmp_path / "net" / "dev") == {"eth0": 3000}
    sensor = NetworkModelSensor(tmp_path)
    u = Usage(0.0)
    sensor.begin(u)
    _write(tmp_path, (1000 + 10**9, 2000 + 10**9), lo=5 * 10**9, veth=5 * 10**9)
    step = sensor.step(u, u)
    assert step.energy_j == pytest.approx(2e9 * J_PER_BYTE)  # 2 GB: 13.5 kJ
    _write(tmp_path, (5, 5))  # the interface was re-created: counters restarted
    assert sensor.step(u, u).energy_j == 0.0
    (tmp_path / "net" / "dev").unlink()
    assert sensor.step(u, u).gap == "network counters unreadable"


def test_machine_scope_only(fake_proc: FakeProc, tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ConfigError, match="scope='machine'"):
        wattprint.Tracker(network=True, db="off")
    _write(fake_proc.root, (0, 0))
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine", network=True, db="off")
    tracker.start()
    clock.advance(2.0)
    fake_proc.run_for(2.0, busy_cpus=1.0)
    _write(fake_proc.root, (500_000_000, 500_000_000))
    run = tracker.stop()
    (net,) = run.component("network")
    assert net.energy_j == pytest.approx(1e9 * J_PER_BYTE)
    assert (net.provenance, net.uncertainty_pct) == ("estimated", 100.0)
    assert "Aslan et al. 2018" in net.notes[0]
