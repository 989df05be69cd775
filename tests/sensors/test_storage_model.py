from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component, DiskCounters, Provenance, Usage
from wattprint.sensors.diskstats import DiskKind, DiskStatsReader
from wattprint.sensors.storage_model import (
    METHOD,
    POWER_TABLE,
    DiskPower,
    StorageSensor,
    discover_storage,
)


def usage(t_s: float, **disks: DiskCounters) -> Usage:
    return Usage(t_s=t_s, disks=disks)


def counters(busy_ms: int, read_b: int = 0, written_b: int = 0) -> DiskCounters:
    return DiskCounters(read_b=read_b, written_b=written_b, busy_ms=busy_ms)


def test_info() -> None:
    sensor = StorageSensor("nvme0n1", DiskKind.NVME)
    info = sensor.info
    assert info.component is Component.STORAGE
    assert info.device == "nvme0n1"
    assert info.method == METHOD == "disk-io-model"
    assert info.provenance is Provenance.ESTIMATED
    assert info.uncertainty_pct == POWER_TABLE[DiskKind.NVME].uncertainty_pct
    assert info.details["kind"] == "nvme"
    assert info.details["idle_w"] == POWER_TABLE[DiskKind.NVME].idle_w


def test_virtual_disk_says_why_in_notes() -> None:
    info = StorageSensor("vda", DiskKind.VIRTUAL).info
    assert info.uncertainty_pct >= 100.0
    assert info.notes and "vda" in info.notes[0]


def test_power_table_covers_every_kind() -> None:
    assert set(POWER_TABLE) == set(DiskKind)
    for power in POWER_TABLE.values():
        assert 0.0 <= power.idle_w < power.active_w
        assert 50.0 <= power.uncertainty_pct <= 100.0


def test_disk_power_rejects_idle_above_active() -> None:
    with pytest.raises(ValueError):
        DiskPower(idle_w=5.0, active_w=1.0, uncertainty_pct=50.0, basis="bad")


@pytest.mark.parametrize("kind", list(DiskKind))
def test_energy_for_known_busy_fraction(kind: DiskKind) -> None:
    """10 s with 2.5 s busy: a quarter of the way from idle to active power."""
    sensor = StorageSensor("d", kind)
    step = sensor.step(usage(100.0, d=counters(40_000)), usage(110.0, d=counters(42_500)))
    idle_w, active_w = POWER_TABLE[kind].idle_w, POWER_TABLE[kind].active_w
    assert step.gap is None
    assert step.energy_j == (idle_w + (active_w - idle_w) * 0.25) * 10.0


def test_energy_nvme_worked_example() -> None:
    sensor = StorageSensor("d", DiskKind.NVME, DiskPower(2.0, 7.0, 70.0, "test"))
    step = sensor.step(usage(0.0, d=counters(0)), usage(10.0, d=counters(2_500)))
    assert step.energy_j == 32.5  # (2 W + 5 W x 0.25) x 10 s


def test_idle_disk_draws_idle_power() -> None:
    sensor = StorageSensor("d", DiskKind.HDD)
    step = sensor.step(usage(0.0, d=counters(7)), usage(4.0, d=counters(7)))
    assert step.energy_j == POWER_TABLE[DiskKind.HDD].idle_w * 4.0


def test_busy_time_beyond_interval_is_clamped() -> None:
    """io_ticks is kept in jiffies, so it can run ahead of a 1 s interval by a few ms."""
    sensor = StorageSensor("d", DiskKind.SSD)
    step = sensor.step(usage(0.0, d=counters(0)), usage(1.0, d=counters(1_004)))
    assert step.energy_j == POWER_TABLE[DiskKind.SSD].active_w * 1.0


@pytest.mark.parametrize(
    "before, after",
    [
        (counters(5_000), counters(10)),  # io_ticks reset
        (counters(5, read_b=4096), counters(6, read_b=0)),  # disk re-added
        (counters(5, written_b=4096), counters(6, written_b=512)),
    ],
)
def test_counters_going_backwards_is_a_gap(before: DiskCounters, after: DiskCounters) -> None:
    step = StorageSensor("d", DiskKind.SSD).step(usage(0.0, d=before), usage(1.0, d=after))
    assert step.energy_j == 0.0
    assert step.gap is not None and "backwards" in step.gap


def test_vanished_disk_is_a_gap() -> None:
    sensor = StorageSensor("d", DiskKind.SSD)
    step = sensor.step(usage(0.0, d=counters(0)), usage(1.0, e=counters(0)))
    assert step.energy_j == 0.0 and step.gap is not None
    step = sensor.step(usage(0.0, d=counters(0)), Usage(t_s=1.0))
    assert step.energy_j == 0.0 and step.gap is not None


def test_zero_interval_is_zero_and_backwards_clock_is_a_gap() -> None:
    sensor = StorageSensor("d", DiskKind.SSD)
    assert sensor.step(usage(5.0, d=counters(0)), usage(5.0, d=counters(0))).energy_j == 0.0
    step = sensor.step(usage(5.0, d=counters(0)), usage(4.0, d=counters(0)))
    assert step.energy_j == 0.0 and step.gap is not None


def test_begin_requires_the_disk() -> None:
    sensor = StorageSensor("d", DiskKind.SSD)
    sensor.begin(usage(0.0, d=counters(0)))
    with pytest.raises(SensorUnavailableError, match="d"):
        sensor.begin(usage(0.0, e=counters(0)))
    with pytest.raises(SensorUnavailableError):
        sensor.begin(Usage(t_s=0.0))


def test_discover_storage(tmp_path: Path) -> None:
    proc_dir, sys_dir = tmp_path / "proc", tmp_path / "sys"
    proc_dir.mkdir()
    (proc_dir / "diskstats").write_text("")
    for name, rotational, parent in (
        ("sda", "1", "ata1"),
        ("nvme0n1", "0", "nvme0"),
        ("loop0", "0", None),
    ):
        disk_dir = sys_dir / "devices" / name
        (disk_dir / "queue").mkdir(parents=True)
        (disk_dir / "queue" / "rotational").write_text(rotational)
        (disk_dir / "size").write_text("100")
        if parent is not None:
            (sys_dir / "devices" / parent).mkdir()
            (disk_dir / "device").symlink_to(os.path.join("..", parent))
        (sys_dir / "block").mkdir(exist_ok=True)
        (sys_dir / "block" / name).symlink_to(os.path.join("..", "devices", name))
    sensors = discover_storage(DiskStatsReader(proc_dir, sys_dir))
    assert [(s.info.device, s.kind) for s in sensors] == [
        ("nvme0n1", DiskKind.NVME),
        ("sda", DiskKind.HDD),
    ]


_counter = st.integers(min_value=0, max_value=2**63)


@given(
    kind=st.sampled_from(list(DiskKind)),
    t0_s=st.floats(min_value=0.0, max_value=1e9),
    dt_s=st.floats(min_value=1e-6, max_value=1e6),
    start=st.tuples(_counter, _counter, _counter),
    delta=st.tuples(_counter, _counter, _counter),
)
def test_energy_is_between_idle_and_active(
    kind: DiskKind,
    t0_s: float,
    dt_s: float,
    start: tuple[int, int, int],
    delta: tuple[int, int, int],
) -> None:
    prev = usage(t0_s, d=counters(*start))
    cur_t_s = t0_s + dt_s
    cur = usage(cur_t_s, d=counters(*(a + b for a, b in zip(start, delta, strict=True))))
    step = StorageSensor("d", kind).step(prev, cur)
    real_dt_s = cur_t_s - t0_s  # what the sensor sees after float rounding
    power = POWER_TABLE[kind]
    assert step.gap is None
    assert power.idle_w * real_dt_s <= step.energy_j <= power.active_w * real_dt_s


@given(
    idle_w=st.floats(min_value=0.0, max_value=100.0),
    extra_w=st.floats(min_value=0.0, max_value=100.0),
    dt_s=st.floats(min_value=1e-6, max_value=1e6),
    busy_ms=st.integers(min_value=0, max_value=2**40),
)
def test_energy_bounds_hold_for_any_figures(
    idle_w: float, extra_w: float, dt_s: float, busy_ms: int
) -> None:
    active_w = idle_w + extra_w
    sensor = StorageSensor("d", DiskKind.SSD, DiskPower(idle_w, active_w, 70.0, "test"))
    step = sensor.step(usage(0.0, d=counters(0)), usage(dt_s, d=counters(busy_ms)))
    assert idle_w * dt_s <= step.energy_j <= active_w * dt_s


@given(
    t_s=st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)),
    before=st.tuples(_counter, _counter, _counter),
    after=st.tuples(_counter, _counter, _counter),
)
def test_energy_is_never_negative(
    t_s: tuple[float, float], before: tuple[int, int, int], after: tuple[int, int, int]
) -> None:
    step = StorageSensor("d", DiskKind.HDD).step(
        usage(t_s[0], d=counters(*before)), usage(t_s[1], d=counters(*after))
    )
    assert step.energy_j >= 0.0
    assert step.gap is None or step.energy_j == 0.0
