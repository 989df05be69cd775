"""The meter: attribution (process_share), fault handling, slow sensors, full reads, the
bounded timeline and gap accounting.

``ConstantPowerSensor`` is a hand-written subclass of the :class:`Sensor` ABC that stands in for
a device: it draws a constant power, can fail in ``begin``/``step`` on a script, and records
every interval it is stepped over. The usage counters come from the real
:class:`~wattprint.sensors.usage.UsageProbe` over :class:`tests.fakes.FakeProc` (the lowest
boundary);
a full read is recognisable because only full reads carry ``machine_mem_used_b``.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import PAGE_SIZE_B, FakeClock, FakePowercap, FakeProc
from wattprint.errors import SensorError, SensorUnavailableError, WattprintWarning
from wattprint.meter import Gap, Meter, Snapshot, Timeline, own_share, process_share
from wattprint.sensors.base import (
    Component,
    DiskCounters,
    Provenance,
    Sensor,
    SensorInfo,
    Step,
    Usage,
)
from wattprint.sensors.discovery import HardwareOptions
from wattprint.sensors.procfs import CLOCK_TICKS_PER_S
from wattprint.sensors.rapl import discover_rapl
from wattprint.sensors.usage import UsageProbe
from wattprint.tracker import Tracker


class ConstantPowerSensor(Sensor):
    """A stand-in device behind the Sensor ABC (see the module docstring)."""

    def __init__(
        self,
        power_w: float = 10.0,
        *,
        component: Component = Component.CPU,
        device: str = "fake0",
        slow: bool = False,
        begin_error: Exception | None = None,
        failing_steps: Collection[int] = (),
        step_error: Exception | None = None,
        warning: str | None = None,
    ) -> None:
        self.info = SensorInfo(
            component, device, "constant", Provenance.MEASURED, 5.0, warning=warning
        )
        self.slow = slow
        self.power_w = power_w
        self.begin_error = begin_error
        self.failing_steps = set(failing_steps)
        self.step_error = step_error or SensorError("counter unreadable")
        self.steps: list[tuple[float, float, bool]] = []  # (prev.t_s, cur.t_s, cur is full)

    def begin(self, usage: Usage) -> None:
        if self.begin_error is not None:
            raise self.begin_error

    def step(self, prev: Usage, cur: Usage) -> Step:
        n = len(self.steps)
        self.steps.append((prev.t_s, cur.t_s, cur.machine_mem_used_b is not None))
        if n in self.failing_steps:
            raise self.step_error
        return Step(self.power_w * (cur.t_s - prev.t_s))


class WarnLog:
    """The meter's warn callback, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, key: str, message: str) -> None:
        self.calls.append((key, message))

    def keys(self, prefix: str) -> list[str]:
        return [k for k, _ in self.calls if k.startswith(prefix)]


def _meter(
    sensors: list[Sensor],
    proc: FakeProc,
    clock: FakeClock,
    *,
    scope: str = "machine",
    root_pid: int | None = None,
    warn: WarnLog | None = None,
    full_every_s: float = 10.0,
) -> Meter:
    probe = UsageProbe(root_pid, proc_dir=proc.root)
    return Meter(
        sensors, probe, scope, clock=clock, warn=warn, full_every_s=full_every_s, max_points=64
    )


def _advance(
    clock: FakeClock,
    proc: FakeProc,
    dt_s: float = 1.0,
    *,
    busy_cpus: float = 1.0,
    proc_cpus: dict[int, float] | None = None,
) -> None:
    """``dt_s`` seconds pass, on the clock and in /proc."""
    clock.advance(dt_s)
    proc.run_for(dt_s, busy_cpus=busy_cpus, proc_cpus=proc_cpus)


# -- process_share --------------------------------------------------------------------------
def test_cpu_share() -> None:
    prev = Usage(0.0, machine_busy_cpu_s=100.0, process_cpu_s=10.0)
    assert process_share(Component.CPU, prev, Usage(1.0, 104.0, 12.0)) == pytest.approx(0.5)
    assert process_share(Component.CPU, prev, Usage(1.0, 104.0, 9.0)) == 0.0  # went back


def test_cpu_share_is_not_capped_per_interval() -> None:
    """A child first seen now brings CPU time from earlier intervals: the share may exceed 1
    (the meter caps the running total at the machine's instead, see below)."""
    prev = Usage(0.0, machine_busy_cpu_s=100.0, process_cpu_s=10.0)
    assert process_share(Component.CPU, prev, Usage(1.0, 101.0, 15.0)) == pytest.approx(5.0)


def test_cpu_share_unknown_inputs() -> None:
    full = Usage(0.0, machine_busy_cpu_s=1.0, process_cpu_s=1.0)
    assert process_share(Component.CPU, full, Usage(1.0, 2.0, None)) is None
    assert process_share(Component.CPU, Usage(0.0, 1.0, None), Usage(1.0, 2.0, 2.0)) is None
    assert process_share(Component.CPU, full, Usage(1.0, None, 2.0)) is None
    assert process_share(Component.CPU, Usage(0.0, None, 1.0), Usage(1.0, 2.0, 2.0)) is None


def test_cpu_share_with_zero_machine_use() -> None:
    prev = Usage(0.0, machine_busy_cpu_s=50.0, process_cpu_s=5.0)
    # Counters read a hair apart: the process moved, the machine did not (yet).
    assert process_share(Component.CPU, prev, Usage(1.0, 50.0, 5.01)) == 1.0
    assert process_share(Component.CPU, prev, Usage(1.0, 50.0, 5.0)) == 0.0


def test_ram_share_is_mean_rss_over_mean_used() -> None:
    prev = Usage(0.0, machine_mem_used_b=10_000, process_mem_b=1_000)
    cur = Usage(1.0, machine_mem_used_b=10_000, process_mem_b=3_000)
    assert process_share(Component.RAM, prev, cur) == pytest.approx(0.2)
    freed = Usage(1.0, machine_mem_used_b=0, process_mem_b=0)
    assert process_share(Component.RAM, prev, freed) == pytest.approx(0.1)
    for missing in (
        Usage(1.0, machine_mem_used_b=None, process_mem_b=3_000),
        Usage(1.0, machine_mem_used_b=10_000, process_mem_b=None),
    ):
        assert process_share(Component.RAM, prev, missing) is None
        assert process_share(Component.RAM, missing, prev) is None


def _io(t_s: float, process_io_b: int | None, **disks: tuple[int, int]) -> Usage:
    return Usage(
        t_s,
        process_io_b=process_io_b,
        disks={n: DiskCounters(r, w, 0) for n, (r, w) in disks.items()},
    )


def test_storage_share() -> None:
    prev = _io(0.0, 0, sda=(1_000, 1_000))
    cur = _io(1.0, 250, sda=(1_500, 1_500))
    assert process_share(Component.STORAGE, prev, cur) == pytest.approx(0.25)


def test_storage_share_floors_a_reset_disk_at_zero() -> None:
    prev = _io(0.0, 0, sda=(1_000, 1_000), sdb=(5_000, 5_000))
    cur = _io(1.0, 500, sda=(1_500, 1_500), sdb=(100, 0))  # sdb's counters reset
    assert process_share(Component.STORAGE, prev, cur) == pytest.approx(0.5)


def test_storage_share_ignores_a_disk_that_appeared() -> None:
    prev = _io(0.0, 0, sda=(0, 0))
    cur = _io(1.0, 100, sda=(200, 200), sdc=(10**9, 10**9))
    assert process_share(Component.STORAGE, prev, cur) == pytest.approx(0.25)


def test_storage_share_of_idle_disks_is_zero() -> None:
    prev = _io(0.0, 0, sda=(1_000, 1_000))
    cur = _io(1.0, 8_192, sda=(1_000, 1_000))  # dirtied pages, not yet on disk
    assert process_share(Component.STORAGE, prev, cur) == 0.0


def test_wattprints_own_use_is_taken_out_of_the_trees_and_counted_apart() -> None:
    """The tracked tree contains wattprint (its store writes, its sampler): their CPU time and
    bytes are the tool's overhead, so a tree that only sleeps gets nothing."""
    prev = Usage(0.0, 100.0, 10.0, own_cpu_s=1.0, own_in_tree=True)
    cur = Usage(1.0, 104.0, 12.0, own_cpu_s=2.5, own_in_tree=True)  # 1.5 of the 2 s were ours
    assert process_share(Component.CPU, prev, cur) == pytest.approx(0.5 / 4)
    assert own_share(Component.CPU, prev, cur) == pytest.approx(1.5 / 4)
    only_us = Usage(1.0, 104.0, 12.0, own_cpu_s=3.0, own_in_tree=True)
    assert process_share(Component.CPU, prev, only_us) == 0.0
    io_prev = replace(_io(0.0, 0, sda=(1_000, 1_000)), own_io_b=0, own_in_tree=True)
    io_cur = replace(_io(1.0, 4_096, sda=(3_048, 3_048)), own_io_b=4_096, own_in_tree=True)
    assert process_share(Component.STORAGE, io_prev, io_cur) == 0.0  # all of it was the store's
    assert own_share(Component.STORAGE, io_prev, io_cur) == pytest.approx(1.0)
    elsewhere = replace(io_cur, own_in_tree=False)  # measuring another tree: nothing to take out
    assert process_share(Component.STORAGE, io_prev, elsewhere) == pytest.approx(1.0)
    assert own_share(Component.RAM, prev, cur) == 0.0


def test_storage_share_unknown_inputs() -> None:
    prev = _io(0.0, 0, sda=(0, 0))
    assert process_share(Component.STORAGE, prev, _io(1.0, None, sda=(9, 9))) is None
    assert process_share(Component.STORAGE, prev, Usage(1.0, process_io_b=5)) is None
    assert process_share(Component.STORAGE, Usage(0.0, process_io_b=0), prev) is None


def test_gpu_share_is_whole_for_now() -> None:
    assert process_share(Component.GPU, Usage(0.0), Usage(1.0)) == 1.0


_floats = st.none() | st.floats(-1e12, 1e12, allow_nan=False)
_ints = st.none() | st.integers(-(2**62), 2**62)
_disks = st.none() | st.dictionaries(
    st.sampled_from(["sda", "sdb", "nvme0n1"]),
    st.builds(DiskCounters, st.integers(0, 2**62), st.integers(0, 2**62), st.integers(0, 2**40)),
)
_usages = st.builds(
    Usage,
    t_s=st.floats(0, 1e6),
    machine_busy_cpu_s=_floats,
    process_cpu_s=_floats,
    machine_mem_used_b=_ints,
    process_mem_b=_ints,
    process_io_b=_ints,
    disks=_disks,
)


@given(st.sampled_from(list(Component)), _usages, _usages)
def test_share_is_a_fraction_or_unknown(component: Component, prev: Usage, cur: Usage) -> None:
    share = process_share(component, prev, cur)
    if component is Component.CPU:  # not capped per interval (see above), never negative
        assert share is None or share >= 0.0
    else:
        assert share is None or 0.0 <= share <= 1.0


# -- faults ----------------------------------------------------------------------------------
def test_failing_step_is_a_gap_and_the_others_keep_counting(
    fake_proc: FakeProc, clock: FakeClock
) -> None:
    good = ConstantPowerSensor(10.0)
    bad = ConstantPowerSensor(5.0, device="flaky", failing_steps={1, 2})
    warn = WarnLog()
    meter = _meter([good, bad], fake_proc, clock, warn=warn)
    meter.begin()
    for _ in range(4):
        _advance(clock, fake_proc)
        snap = meter.read()
    assert snap.energy_j == pytest.approx((40.0, 10.0))  # bad: steps 0 and 3 only
    assert meter.gaps == [
        Gap(1, 1001.0, 1002.0, "counter unreadable"),
        Gap(1, 1002.0, 1003.0, "counter unreadable"),
    ]
    assert meter.gap_s(1, 1000.0, 1004.0) == pytest.approx(2.0)
    assert meter.gap_s(0, 1000.0, 1004.0) == 0.0
    assert meter.is_live(1)
    # Every gap is reported under one key, so the caller (Tracker) shows it once.
    gap_keys = warn.keys("gap:")
    assert len(gap_keys) >= 1
    assert set(gap_keys) == {gap_keys[0]}
    assert "flaky" in next(m for k, m in warn.calls if k == gap_keys[0])


def test_a_run_shows_a_repeated_gap_and_a_sensor_warning_once(
    fake_proc: FakeProc, clock: FakeClock, tmp_path: Path
) -> None:
    good = ConstantPowerSensor(10.0, warning="estimated generically")
    bad = ConstantPowerSensor(5.0, device="flaky", failing_steps={0, 1, 2, 3})
    hw = HardwareOptions(proc_dir=fake_proc.root, powercap_dir=tmp_path / "none")
    tracker = Tracker(
        scope="machine", sensors=[good, bad], hardware=hw, clock=clock, background=False
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker.start()
        for _ in range(4):
            _advance(clock, fake_proc)
            tracker.sample()
        run = tracker.stop()
    messages = [str(w.message) for w in caught if issubclass(w.category, WattprintWarning)]
    assert sum("flaky" in m for m in messages) == 1
    assert messages.count("estimated generically") == 1
    assert run.components[0].energy_j == pytest.approx(40.0)
    assert run.components[1].gap_s == pytest.approx(4.0)
    assert run.components[1].energy_j == 0.0


@pytest.mark.parametrize(
    "error", [SensorUnavailableError("no such device"), PermissionError(13, "root only")]
)
def test_sensor_failing_begin_is_left_out(
    fake_proc: FakeProc, clock: FakeClock, error: Exception
) -> None:
    good = ConstantPowerSensor(10.0)
    bad = ConstantPowerSensor(5.0, device="absent", begin_error=error)
    warn = WarnLog()
    meter = _meter([good, bad], fake_proc, clock, warn=warn)
    meter.begin()
    for _ in range(3):
        _advance(clock, fake_proc)
        snap = meter.read()
    assert not meter.is_live(1)
    assert meter.is_live(0)
    assert bad.steps == []
    assert snap.energy_j == pytest.approx((30.0, 0.0))
    assert warn.keys("begin:") == ["begin:1"]
    assert "absent" in warn.calls[0][1]
    assert meter.gaps == []


def test_read_before_begin_is_an_error(fake_proc: FakeProc, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError):
        _meter([ConstantPowerSensor()], fake_proc, clock).read()


def test_unexpected_error_in_one_sensor_does_not_double_count_another(
    fake_proc: FakeProc, clock: FakeClock
) -> None:
    """An exception that is not a device fault (a driver binding's own error type, a bug)
    must not leave the sensors before it credited for an interval the next read counts again."""
    good = ConstantPowerSensor(10.0)
    buggy = ConstantPowerSensor(1.0, failing_steps={0}, step_error=KeyError("driver bug"))
    meter = _meter([good, buggy], fake_proc, clock)
    meter.begin()
    _advance(clock, fake_proc)
    with contextlib.suppress(KeyError):  # raising or recording a gap: either is fine
        meter.read()
    _advance(clock, fake_proc)
    snap = meter.read()
    assert snap.energy_j[0] == pytest.approx(20.0)  # 2 s at 10 W, not 30 J


# -- fast and full reads ---------------------------------------------------------------------
def test_slow_sensor_is_stepped_on_full_reads_over_the_whole_interval(
    fake_proc: FakeProc, clock: FakeClock
) -> None:
    fast = ConstantPowerSensor(10.0)
    slow = ConstantPowerSensor(2.0, component=Component.STORAGE, slow=True)
    meter = _meter([fast, slow], fake_proc, clock, full_every_s=10.0)
    meter.begin()
    for _ in range(12):
        _advance(clock, fake_proc)
        meter.tick()
    assert slow.steps == [(1000.0, 1010.0, True)]
    assert len(fast.steps) == 12
    assert [(a, b) for a, b, _ in fast.steps] == [(1000.0 + i, 1001.0 + i) for i in range(12)]
    _advance(clock, fake_proc, 0.5)
    snap = meter.read()  # a window edge: full
    assert slow.steps[1] == (1010.0, 1012.5, True)
    assert snap.energy_j == pytest.approx((125.0, 25.0))  # nothing lost on either


def test_tick_reads_full_every_full_every_s(fake_proc: FakeProc, clock: FakeClock) -> None:
    fast = ConstantPowerSensor(1.0)
    meter = _meter([fast], fake_proc, clock, full_every_s=3.0)
    meter.begin()
    for _ in range(10):
        _advance(clock, fake_proc)
        meter.tick()
    full_at = [b for _, b, full in fast.steps if full]
    assert full_at == [1003.0, 1006.0, 1009.0]
    meter.read()  # a full read (window edge) restarts the count
    _advance(clock, fake_proc, 2.0)
    meter.tick()
    assert fast.steps[-1] == (1010.0, 1012.0, False)


def test_process_scope_attributes_the_tree_share(fake_proc: FakeProc, clock: FakeClock) -> None:
    fake_proc.add_process(10, 1)
    cpu = ConstantPowerSensor(100.0)
    meter = _meter([cpu], fake_proc, clock, scope="process", root_pid=10)
    meter.begin()
    for _ in range(4):
        _advance(clock, fake_proc, busy_cpus=2.0, proc_cpus={10: 0.5})
        meter.tick()
    snap = meter.read()
    assert meter.gaps == []
    assert snap.energy_j[0] == pytest.approx(100.0 * 4 * 0.25)


def test_process_scope_total_never_exceeds_the_machine(
    fake_proc: FakeProc, clock: FakeClock
) -> None:
    """A child found late brings 3 s of CPU time earned before: the attributed energy may
    catch up, but never beyond what the device used."""
    fake_proc.add_process(10, 1)
    cpu = ConstantPowerSensor(10.0)
    meter = _meter([cpu], fake_proc, clock, scope="process", root_pid=10)
    meter.begin()
    attributed = []
    for second in range(1, 5):
        _advance(clock, fake_proc, busy_cpus=1.0, proc_cpus={10: 0.5})
        if second == 2:
            fake_proc.add_process(11, 10, cpu_ticks=round(3.0 * CLOCK_TICKS_PER_S))
        attributed.append(meter.read().energy_j[0])
    machine = [10.0 * s for s in range(1, 5)]
    assert all(a <= m + 1e-9 for a, m in zip(attributed, machine, strict=True))
    assert attributed == sorted(attributed)
    assert attributed[0] == pytest.approx(5.0)  # half the CPU time, half the energy
    assert attributed[1] == pytest.approx(20.0)  # caught up to the whole machine, no further


def test_process_scope_rapl_dram_is_counted_between_full_reads(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The RAM share needs memory counters, which only full reads carry: a RAPL dram sensor
    must still be counted (not a gap) over sampler ticks that are fast reads."""
    pc = FakePowercap(tmp_path / "sys")
    pkg = pc.add_zone("intel-rapl:0", "package-0")
    dram = pc.add_zone("intel-rapl:0:0", "dram", power_limit_uw=0)
    proc = FakeProc(tmp_path / "proc", mem_total_kb=16_000_000)  # 8 GB used
    proc.add_process(10, 1, rss_pages=4_096_000_000 // PAGE_SIZE_B)  # half of it
    sensors: list[Sensor] = list(discover_rapl(pc.class_dir))
    assert [s.info.component for s in sensors] == [Component.CPU, Component.RAM]
    meter = _meter(sensors, proc, clock, scope="process", root_pid=10)
    meter.begin()
    for _ in range(5):
        _advance(clock, proc, busy_cpus=1.0, proc_cpus={10: 1.0})
        pkg.add_energy_j(10.0)
        dram.add_energy_j(10.0)
        meter.tick()
    snap = meter.read()
    assert snap.energy_j[0] == pytest.approx(50.0, rel=1e-6)  # all CPU time is ours
    assert meter.gaps == []
    assert snap.energy_j[1] == pytest.approx(25.0, rel=1e-3)


# -- timeline and gaps -----------------------------------------------------------------------
@given(st.integers(2, 64), st.integers(1, 600))
def test_timeline_is_bounded_and_ordered(max_points: int, n: int) -> None:
    tl = Timeline(2, max_points)
    for i in range(n):
        t = 100.0 + i
        tl.add(Snapshot(t, (2 * t, 3 * t)))
        assert len(tl) < max_points
    assert len(tl) >= min(n, max_points // 2)
    t_s = list(tl.t_s)
    assert t_s[0] == 100.0
    assert all(a < b for a, b in itertools.pairwise(t_s))
    # the series stay aligned with their times
    assert list(tl.energy_j[0]) == [2 * t for t in t_s]
    assert list(tl.energy_j[1]) == [3 * t for t in t_s]


def test_meter_timeline_stays_bounded(fake_proc: FakeProc, clock: FakeClock) -> None:
    meter = _meter([ConstantPowerSensor(1.0)], fake_proc, clock)  # max_points=64
    meter.begin()
    for _ in range(1000):
        clock.advance(1.0)
        meter.tick()
    assert 32 <= len(meter.timeline) < 64
    assert meter.timeline.t_s[0] == 1000.0


def test_gap_s_overlap_arithmetic(fake_proc: FakeProc, clock: FakeClock) -> None:
    good = ConstantPowerSensor(1.0)
    bad = ConstantPowerSensor(1.0, failing_steps={1, 2, 5})
    meter = _meter([good, bad], fake_proc, clock)
    meter.begin()
    for _ in range(8):
        _advance(clock, fake_proc)
        meter.read()
    # gaps of sensor 1: [1001, 1002], [1002, 1003], [1005, 1006]
    assert [(g.start_s, g.end_s) for g in meter.gaps] == [
        (1001.0, 1002.0),
        (1002.0, 1003.0),
        (1005.0, 1006.0),
    ]
    assert meter.gap_s(1, 1000.0, 1008.0) == pytest.approx(3.0)
    assert meter.gap_s(1, 1001.5, 1005.5) == pytest.approx(2.0)
    assert meter.gap_s(1, 1001.2, 1001.7) == pytest.approx(0.5)  # inside one gap
    assert meter.gap_s(1, 1003.0, 1005.0) == 0.0  # touches, does not overlap
    assert meter.gap_s(1, 990.0, 1000.0) == 0.0
    assert meter.gap_s(0, 1000.0, 1008.0) == 0.0
