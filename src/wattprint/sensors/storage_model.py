"""Storage energy from disk busy time: a two-point (idle, active) power model per disk.

For one whole disk over an interval of ``dt_s`` seconds::

    busy_fraction = clamp(delta(io_ticks ms) / (dt_s * 1000), 0, 1)
    power_w       = idle_w + (active_w - idle_w) * busy_fraction
    energy_j      = power_w * dt_s

This is machine-level energy. The meter attributes a share of it to a process tree by the
tree's share of the bytes moved (``meter.process_share``). The figures and their sources are in
``docs/methods/storage.md``; keep the two in step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import (
    Component,
    Provenance,
    Sensor,
    SensorInfo,
    Step,
    Usage,
)
from wattprint.sensors.diskstats import DiskKind, DiskStatsReader

__all__ = ["POWER_TABLE", "DiskPower", "StorageSensor", "discover_storage"]

METHOD = "disk-io-model"


@dataclass(frozen=True)
class DiskPower:
    """Typical whole-drive power of one kind of disk, and how far a real drive may be off."""

    idle_w: float  # powered, spun up / awake, no I/O in flight
    active_w: float  # sustained reads and writes
    uncertainty_pct: float  # relative band of the resulting energy
    basis: str  # one line on where the figures come from

    def __post_init__(self) -> None:
        if not (0.0 <= self.idle_w <= self.active_w and math.isfinite(self.active_w)):
            raise ValueError(f"need 0 <= idle_w <= active_w < inf, got {self!r}")


#: Per-kind figures; ``docs/methods/storage.md`` explains each.
POWER_TABLE: Mapping[DiskKind, DiskPower] = MappingProxyType(
    {
        DiskKind.NVME: DiskPower(
            idle_w=2.0,
            active_w=7.0,
            uncertainty_pct=70.0,
            basis="between client M.2 (APST idle < 0.1 W, active 5-8 W) and datacenter U.2 "
            "(idle 3-8 W, active 10-25 W) datasheets",
        ),
        DiskKind.SSD: DiskPower(
            idle_w=0.5,
            active_w=3.0,
            uncertainty_pct=70.0,
            basis="SATA SSD datasheets: idle 0.03-1 W depending on link power management, "
            "active 2-4 W",
        ),
        DiskKind.HDD: DiskPower(
            idle_w=5.0,
            active_w=8.0,
            uncertainty_pct=50.0,
            basis="3.5-inch 7200 rpm datasheets: idle 4-7 W, random read/write 6-10 W",
        ),
        DiskKind.VIRTUAL: DiskPower(
            idle_w=0.5,
            active_w=3.0,
            uncertainty_pct=100.0,
            basis="virtual disk: the backing device is the host's and unknown; SSD figures",
        ),
        DiskKind.UNKNOWN: DiskPower(
            idle_w=0.5,
            active_w=3.0,
            uncertainty_pct=100.0,
            basis="kind unknown (no rotational flag); SSD figures",
        ),
    }
)


class StorageSensor(Sensor):
    """One whole disk, modelled from its busy time (``io_ticks``)."""

    slow = True  # busy time is cumulative: stepping every ~10 s loses nothing

    def __init__(self, name: str, kind: DiskKind, power: DiskPower | None = None) -> None:
        self.name = name
        self.kind = kind
        self.power = POWER_TABLE[kind] if power is None else power
        notes: tuple[str, ...] = ()
        if kind in (DiskKind.VIRTUAL, DiskKind.UNKNOWN):
            notes = (f"{name}: {self.power.basis}",)
        self.info = SensorInfo(
            component=Component.STORAGE,
            device=name,
            method=METHOD,
            provenance=Provenance.ESTIMATED,
            uncertainty_pct=self.power.uncertainty_pct,
            notes=notes,
            details={
                "kind": kind.value,
                "idle_w": self.power.idle_w,
                "active_w": self.power.active_w,
            },
        )

    def begin(self, usage: Usage) -> None:
        if usage.disks is None or self.name not in usage.disks:
            raise SensorUnavailableError(
                f"disk {self.name} is not in /proc/diskstats; "
                "check that it is still attached, or disable the storage sensor"
            )

    def step(self, prev: Usage, cur: Usage) -> Step:
        dt_s = cur.t_s - prev.t_s
        if not math.isfinite(dt_s) or dt_s < 0.0:
            return Step(0.0, gap=f"{self.name}: clock went backwards ({dt_s!r} s)")
        before = prev.disks.get(self.name) if prev.disks is not None else None
        after = cur.disks.get(self.name) if cur.disks is not None else None
        if before is None or after is None:
            return Step(0.0, gap=f"{self.name}: disk counters missing (disk removed?)")
        busy_ms = after.busy_ms - before.busy_ms
        if busy_ms < 0 or after.read_b < before.read_b or after.written_b < before.written_b:
            return Step(0.0, gap=f"{self.name}: counters went backwards (disk reset or re-added)")
        if dt_s == 0.0:
            return Step(0.0)
        busy_fraction = min(1.0, max(0.0, busy_ms / (dt_s * 1000.0)))
        idle_w, active_w = self.power.idle_w, self.power.active_w
        power_w = idle_w + (active_w - idle_w) * busy_fraction
        # Rounding must not take the power outside [idle_w, active_w].
        power_w = min(active_w, max(idle_w, power_w))
        return Step(power_w * dt_s)


def discover_storage(reader: DiskStatsReader) -> list[StorageSensor]:
    """One sensor per whole physical disk the reader found, in name order."""
    return [StorageSensor(name, kind) for name, kind in sorted(reader.disks.items())]
