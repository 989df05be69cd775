"""The device layer's common types.

A sensor turns one piece of hardware into *machine-level* energy: each call to
:meth:`Sensor.step` returns the joules the device used between two readings. Attribution to a
process tree (``scope="process"``) is not the sensor's job; the meter applies it (see
``wattprint.meter``), so that every sensor is simple and testable against fake hardware.
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field


class Provenance(str, enum.Enum):
    """How a component's energy was obtained, best first."""

    MEASURED = "measured"  # a hardware energy counter (RAPL, NVML total energy, amdsmi)
    INTEGRATED = "integrated"  # power readings integrated over time
    ESTIMATED = "estimated"  # a model (TDP x utilisation, W/GB, disk I/O)

    def __str__(self) -> str:
        return self.value


class Component(str, enum.Enum):
    CPU = "cpu"
    GPU = "gpu"
    RAM = "ram"
    STORAGE = "storage"
    NETWORK = "network"  # optional, machine scope only (sensors/network_model.py)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SensorInfo:
    """What a sensor measures and how well."""

    component: Component
    device: str  # e.g. "package-0", "nvme0n1", "Intel Xeon Gold 6248"
    method: str  # e.g. "rapl-powercap", "tdp-model"
    provenance: Provenance
    uncertainty_pct: float  # one-sigma-ish relative band of this sensor's energy, in percent
    notes: tuple[str, ...] = ()  # facts a user should know (matched CPU name, fallbacks taken)
    details: dict[str, object] = field(default_factory=dict)  # machine-readable extras
    warning: str | None = None  # shown once per run when the sensor is first used


# The value types below are built at every sampler tick: plain slotted dataclasses, because a
# frozen dataclass's __init__ goes through object.__setattr__ per field (several times slower).
# Treat them as immutable.


@dataclass(slots=True)
class DiskCounters:
    """Cumulative counters of one whole block device, as in ``/proc/diskstats``."""

    read_b: int  # sectors read x 512 (the kernel's sector unit, whatever the device's)
    written_b: int  # sectors written x 512
    busy_ms: int  # "io_ticks": milliseconds the device had I/O in flight


@dataclass(slots=True)
class Usage:
    """Resource use counters at one instant, shared by every sensor at a tick.

    Cumulative values; the meter differences two of them. A field is ``None`` when the scope
    does not need it or the platform cannot give it.
    """

    t_s: float  # monotonic seconds
    machine_busy_cpu_s: float | None = None  # CPU-seconds spent busy, machine or cgroup
    process_cpu_s: float | None = None  # CPU-seconds of the tracked process tree
    machine_mem_used_b: int | None = None
    process_mem_b: int | None = None  # resident memory of the tracked process tree
    process_io_b: int | None = None  # bytes the tree read from / wrote to storage
    disks: Mapping[str, DiskCounters] | None = None  # whole block devices by kernel name
    pids: tuple[int, ...] | None = None  # the tracked process tree (process scope)
    # wattprint's own use (its sampler, reads at window edges, store writes), cumulative;
    # ``own_in_tree``: it is part of the process counters above (the tracked tree is ours).
    own_cpu_s: float = 0.0
    own_io_b: int = 0
    own_in_tree: bool = False


@dataclass(slots=True)
class Step:
    """Energy of one interval between two readings of a sensor."""

    energy_j: float
    gap: str | None = None  # why the interval could not be measured; energy_j is then 0
    #: When the energy covers more than this interval: the start of what it covers (a counter
    #: read after failed reads still holds their energy), so those gaps are filled.
    since_s: float | None = None


class Sensor(ABC):
    """One device. Subclasses keep whatever state they need between steps."""

    info: SensorInfo
    #: The component, when fixed by the class (lets the meter avoid touching ``info``, which
    #: some sensors resolve lazily); otherwise ``info.component`` is used.
    component: Component | None = None
    #: How long the sensor may go unread before information is lost (counter wraparound).
    max_interval_s: float = math.inf
    #: A slow sensor is stepped only on the meter's full reads (every ~10 s and at every
    #: window edge): its inputs change slowly and cost more to read than they tell per tick.
    slow: bool = False

    @abstractmethod
    def begin(self, usage: Usage) -> None:
        """Take the baseline reading. Raises :class:`~wattprint.errors.SensorError`."""

    @abstractmethod
    def step(self, prev: Usage, cur: Usage) -> Step:
        """Energy in joules between the previous reading and now (machine level, >= 0)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most sensors hold nothing open
        """Release files or handles; the sensor is not stepped again."""

    def attribute(self, prev: Usage, cur: Usage) -> float | None:
        """The tracked process tree's share (0..1) of this device's energy over the interval,
        for devices whose use is not in :class:`Usage` (GPUs: the driver's per-process
        accounting; ``cur.pids`` is the tree). None: unknown (the interval becomes a gap).
        Only called for GPU sensors; the default gives the whole device to the tree."""
        return 1.0
