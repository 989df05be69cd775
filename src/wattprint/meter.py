"""A set of sensors read together, attributed to a scope, with a compact timeline.

The meter is the only place that knows about scope. Sensors report machine-level energy;
for ``scope="process"`` each interval's energy is multiplied by the process tree's share of
that component's use in the same interval (CPU time, resident memory, bytes of disk I/O). For
the CPU this makes measured (RAPL) and estimated energy follow the same rule.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wattprint.errors import SensorError
from wattprint.sensors.base import Component, Sensor, Step, Usage
from wattprint.sensors.usage import UsageProbe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.warn import Warn

SCOPES = ("process", "machine")


@dataclass(slots=True)
class Snapshot:
    """Cumulative attributed energy of each sensor at one instant (monotonic seconds)."""

    t_s: float
    energy_j: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Gap:
    """An interval in which a sensor could not be read; its energy there is not counted."""

    sensor: int
    start_s: float
    end_s: float
    reason: str


class Timeline:
    """Cumulative energy per sensor over time, bounded: past ``max_points`` every other point
    is dropped, so memory stays flat however long the run."""

    def __init__(self, n_sensors: int, max_points: int = 4096) -> None:
        self.t_s = array("d")
        self.energy_j = [array("d") for _ in range(n_sensors)]
        self.max_points = max_points
        self._stride = 1  # how many readings one kept point stands for
        self._skipped = 0

    def add(self, snap: Snapshot) -> None:
        self._skipped += 1
        if self._skipped < self._stride:
            return
        self._skipped = 0
        self.t_s.append(snap.t_s)
        for series, value in zip(self.energy_j, snap.energy_j, strict=True):
            series.append(value)
        if len(self.t_s) >= self.max_points:
            self.t_s = self.t_s[::2]
            self.energy_j = [s[::2] for s in self.energy_j]
            self._stride *= 2

    def __len__(self) -> int:
        return len(self.t_s)


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None:
        return None
    if part <= 0:
        return 0.0
    if whole <= 0:  # counters read a hair apart; the part cannot exceed the whole
        return 1.0
    return min(1.0, part / whole)


def process_share(component: Component, prev: Usage, cur: Usage) -> float | None:
    """The process tree's share of one component's use over an interval (None: unknown)."""
    if component is Component.CPU:
        if cur.process_cpu_s is None or prev.process_cpu_s is None:
            return None
        if cur.machine_busy_cpu_s is None or prev.machine_busy_cpu_s is None:
            return None
        used_s = cur.process_cpu_s - prev.process_cpu_s
        if cur.own_in_tree:  # wattprint's own work is overhead, never the tree's
            used_s -= cur.own_cpu_s - prev.own_cpu_s
        busy_s = cur.machine_busy_cpu_s - prev.machine_busy_cpu_s
        if used_s <= 0:
            return 0.0
        # Not capped at 1: CPU time of a child first seen now may belong to earlier intervals
        # (the meter caps the running total at the machine's instead).
        return used_s / busy_s if busy_s > 0 else 1.0
    if component is Component.RAM:
        if None in (
            prev.process_mem_b,
            cur.process_mem_b,
            prev.machine_mem_used_b,
            cur.machine_mem_used_b,
        ):
            return None
        return _ratio(
            (prev.process_mem_b or 0) + (cur.process_mem_b or 0),
            (prev.machine_mem_used_b or 0) + (cur.machine_mem_used_b or 0),
        )
    if component is Component.STORAGE:
        if (
            cur.process_io_b is None
            or prev.process_io_b is None
            or cur.disks is None
            or prev.disks is None
        ):
            return None
        # Per disk, floored at 0: a disk whose counters reset must not shrink the total.
        moved_b = sum(
            max(0, c.read_b + c.written_b - prev.disks[n].read_b - prev.disks[n].written_b)
            for n, c in cur.disks.items()
            if n in prev.disks
        )
        if moved_b <= 0:
            # The disks were idle. Writes count in proc/<pid>/io when pages are dirtied and
            # reach the disk up to ~30 s later, so the process is billed then, not now.
            return 0.0
        io_b = cur.process_io_b - prev.process_io_b
        if cur.own_in_tree:  # the store's and the record's writes are wattprint's
            io_b -= cur.own_io_b - prev.own_io_b
        return _ratio(io_b, moved_b)
    return 1.0  # GPUs: the sensor's own attribute() (see Meter._step)


def own_share(component: Component, prev: Usage, cur: Usage) -> float:
    """wattprint's own share of one component's use over an interval: its CPU time of the
    machine's busy time, its bytes of the disks' (0 for the rest: its memory is a few MiB and
    it uses no GPU)."""
    if component is Component.CPU:
        if cur.machine_busy_cpu_s is None or prev.machine_busy_cpu_s is None:
            return 0.0
        busy_s = cur.machine_busy_cpu_s - prev.machine_busy_cpu_s
        return _ratio(cur.own_cpu_s - prev.own_cpu_s, busy_s) or 0.0
    if component is Component.STORAGE:
        if cur.disks is None or prev.disks is None:
            return 0.0
        moved_b = sum(
            max(0, c.read_b + c.written_b - prev.disks[n].read_b - prev.disks[n].written_b)
            for n, c in cur.disks.items()
            if n in prev.disks
        )
        return _ratio(cur.own_io_b - prev.own_io_b, moved_b) or 0.0 if moved_b > 0 else 0.0
    return 0.0


def _component_of(sensor: Sensor) -> Component:
    component = getattr(type(sensor), "component", None)
    return component if isinstance(component, Component) else sensor.info.component


class Meter:
    """Thread-safe: the sampler thread and the caller's window edges both call :meth:`read`."""

    def __init__(
        self,
        sensors: Sequence[Sensor],
        probe: UsageProbe,
        scope: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        warn: Warn | None = None,
        max_points: int = 4096,
        full_every_s: float = 10.0,
    ) -> None:
        self.sensors = tuple(sensors)
        self.probe = probe
        self.scope = scope
        self.clock = clock
        self._warn = warn or (lambda key, msg: None)
        self._lock = threading.Lock()
        self._prev: Usage | None = None
        self._prev_full: Usage | None = None
        # Slow sensors are read only on full reads, which must then come often enough for
        # their counters not to wrap unseen.
        slow_limit_s = min((s.max_interval_s for s in self.sensors if s.slow), default=math.inf)
        self.full_every_s = min(full_every_s, slow_limit_s)
        self._total_j = [0.0] * len(self.sensors)  # attributed to the scope
        self._machine_j = [0.0] * len(self.sensors)  # whole machine (= total for "machine")
        self._own_j = [0.0] * len(self.sensors)  # wattprint's own use: overhead, apart
        self._live = [True] * len(self.sensors)
        self.gaps: list[Gap] = []
        self.reads = 0  # readings taken (the timeline keeps a thinned subset)
        self.last: Snapshot | None = None  # the latest reading (for live displays)
        self.previous: Snapshot | None = None  # the one before it (power over the last interval)
        self._closed = False
        self._checked: set[int] = set()
        self._process_scope = scope == "process"
        # Components are fixed per sensor kind; read once, not per tick (CpuModelSensor's
        # full info resolves the CPU database lazily, on its first step).
        self._components = [_component_of(s) for s in self.sensors]
        self.timeline = Timeline(len(self.sensors), max_points)

    @property
    def max_interval_s(self) -> float:
        """Longest safe interval between reads (counter wraparound), inf when unconstrained."""
        return min((s.max_interval_s for s in self.sensors), default=math.inf)

    def begin(self) -> Snapshot:
        with self._lock:
            usage = self.probe.read(self.clock(), full=True)
            for i, sensor in enumerate(self.sensors):
                try:
                    sensor.begin(usage)
                except Exception as exc:  # noqa: BLE001 - one bad sensor must not stop the run
                    self._live[i] = False
                    self._warn(
                        f"begin:{i}",
                        f"{sensor.info.component} {sensor.info.device}: "
                        f"{exc}; left out of this run",
                    )
            self._prev = self._prev_full = usage
            snap = self.last = Snapshot(usage.t_s, tuple(self._total_j))
            self.timeline.add(snap)
            return snap

    def read(self, full: bool = True) -> Snapshot:
        """Step the sensors to now. Window edges and stop() make full reads; the sampler's
        ticks are fast reads, with a full one every ``full_every_s``."""
        with self._lock:
            if self._closed:
                raise RuntimeError("Meter.read() after close()")
            prev, prev_full = self._prev, self._prev_full
            if prev is None or prev_full is None:
                raise RuntimeError("Meter.read() before begin()")
            cur = self.probe.read(self.clock(), full=full)
            for i, sensor in enumerate(self.sensors):
                if not self._live[i]:
                    continue
                if not sensor.slow:
                    self._step(i, sensor, prev, cur)
                elif full:
                    self._step(i, sensor, prev_full, cur)
            self._prev = cur
            if full:
                self._prev_full = cur
            self.reads += 1
            self.previous = self.last
            snap = self.last = Snapshot(cur.t_s, tuple(self._total_j))
            self.timeline.add(snap)
            return snap

    def tick(self) -> Snapshot | None:
        """The sampler's periodic read; None once closed (a tick racing ``stop()``)."""
        if self._closed:
            return None
        prev_full = self._prev_full
        full = prev_full is None or self.clock() - prev_full.t_s >= self.full_every_s
        try:
            return self.read(full=full)
        except Exception as exc:  # noqa: BLE001 - tell the user once; the next tick may work
            if self._closed:
                return None
            self._warn(
                "tick",
                f"a sampling tick failed ({type(exc).__name__}: {exc}); the "
                "run goes on and the next reading covers the interval",
            )
            return None

    def _step(self, i: int, sensor: Sensor, prev: Usage, cur: Usage) -> None:
        try:
            step = sensor.step(prev, cur)
        except (SensorError, OSError, ValueError) as exc:
            step = Step(0.0, gap=str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in one sensor must not abort the read
            step = Step(0.0, gap=f"internal error: {type(exc).__name__}: {exc}")
        if i not in self._checked:  # the sensor's info is final after its first step
            self._checked.add(i)
            if sensor.info.warning:
                self._warn(f"info:{i}", sensor.info.warning)
        gap = step.gap
        energy_j = step.energy_j
        if gap is None and self._process_scope:
            component = self._components[i]
            try:
                share = (
                    sensor.attribute(prev, cur)
                    if component is Component.GPU
                    else process_share(component, prev, cur)
                )
            except Exception as exc:  # noqa: BLE001 - a sensor's bug is a gap, not a lost read
                share, gap = None, f"attribution failed: {type(exc).__name__}: {exc}"
            if gap is None and share is None:
                gap = "process use counters unreadable, cannot attribute"
            elif share is not None:
                energy_j *= share
        if step.since_s is not None and gap is None:  # the earlier gaps were filled after all
            self.gaps = [g for g in self.gaps if g.sensor != i or g.start_s < step.since_s]
        if gap is not None:
            self.gaps.append(Gap(i, prev.t_s, cur.t_s, gap))
            self._warn(
                f"gap:{i}:{gap}",
                f"{sensor.info.component} {sensor.info.device}: "
                f"{gap}; the interval is marked as a gap and the run goes on",
            )
            return
        self._machine_j[i] += max(0.0, step.energy_j)
        share = own_share(self._components[i], prev, cur)
        if share > 0:
            self._own_j[i] += max(0.0, step.energy_j) * share
        if energy_j > 0:
            # CPU shares are not capped per interval (a child found late brings CPU time from
            # earlier intervals), so cap the running total at the machine's instead.
            self._total_j[i] = min(self._total_j[i] + energy_j, self._machine_j[i])

    def close(self) -> None:
        """Release open files (counters stay readable: snapshots already taken are kept)."""
        with self._lock:
            self._closed = True
            self.probe.close()
            for sensor in self.sensors:
                sensor.close()

    @property
    def own_energy_j(self) -> float:
        """wattprint's own energy so far (its share of CPU and storage): the run's overhead,
        kept out of the attributed totals."""
        with self._lock:
            return float(sum(self._own_j))

    def gap_s(self, sensor: int, start_s: float, end_s: float) -> float:
        """Seconds of ``[start_s, end_s]`` in which ``sensor`` was not measured."""
        with self._lock:
            overlaps = [
                max(0.0, min(g.end_s, end_s) - max(g.start_s, start_s))
                for g in self.gaps
                if g.sensor == sensor
            ]
            return float(sum(overlaps))

    def is_live(self, sensor: int) -> bool:
        return self._live[sensor]

    def take_gaps(self) -> list[Gap]:
        """The gaps recorded since the last call, forgotten here (a daemon that reads the
        meter for months keeps no history of them; a run keeps ``gaps`` for its record)."""
        with self._lock:
            gaps, self.gaps = self.gaps, []
            return gaps
