"""The machine's CPU energy split across its busiest cgroups, with a bounded set of labels.

cgroup v2 (Documentation/admin-guide/cgroup-v2.rst): every cgroup directory has ``cpu.stat``
whose ``usage_usec`` is the CPU time of all its processes, descendants included; the root's
``cpu.stat`` (kernels >= 5.8) is the whole machine's. The units watched are the cgroups two
levels down (``system.slice/docker-....scope``, ``user.slice/user-1000.slice``), or one level
down where a cgroup has no children: services, containers and users' sessions, without
counting anything twice. Each interval's CPU energy is shared by their CPU time over the
machine's (the root's ``usage_usec``; without it, over the sum of the units').

Prometheus counters must only grow and their label sets stay small. So at most ``top`` units
are ever *admitted* as labels, in the order they first appear among an interval's biggest
users, and are never dropped; everything else adds up under ``other``. Each counter is a
running sum of non-negative shares, so it never decreases, whatever the cgroups do (a unit
that goes away keeps its total).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

OTHER = "(other)"  # not a cgroup name the kernel would make, so no unit takes it


def _usage_s(cpu_stat: Path) -> float | None:
    try:
        with open(cpu_stat, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
    except (OSError, ValueError):
        return None
    return None


def _children(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as it:
            return sorted(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


@dataclass
class CgroupEnergy:
    """Cumulative CPU energy per admitted cgroup (joules), plus ``other``."""

    root: Path
    top: int = 10
    energy_j: dict[str, float] = field(default_factory=dict)  # admitted units only
    other_j: float = 0.0  # every unit that was not admitted
    _last: dict[str, float] = field(default_factory=dict)
    _last_total_s: float | None = None

    @classmethod
    def open(cls, root: Path, top: int) -> CgroupEnergy | None:
        """None where there is no cgroup v2 hierarchy at ``root`` (v1, or none mounted)."""
        if not (root / "cgroup.controllers").exists():
            return None
        return cls(root, top)

    def units(self) -> dict[str, float]:
        """CPU seconds so far of each unit, by its path below the root."""
        out: dict[str, float] = {}
        for first in _children(self.root):
            below = [c for c in _children(first) if (c / "cpu.stat").exists()]
            for unit in below or [first]:
                used_s = _usage_s(unit / "cpu.stat")
                if used_s is not None:
                    out[unit.relative_to(self.root).as_posix()] = used_s
        return out

    def add(self, cpu_energy_j: float) -> None:
        """Share ``cpu_energy_j`` (the CPU energy since the last call) among the units by
        their CPU time since then."""
        now = self.units()
        total_s = _usage_s(self.root / "cpu.stat")
        deltas = {
            name: max(0.0, used_s - self._last[name])
            for name, used_s in now.items()
            if name in self._last
        }
        busy_s = (
            total_s - self._last_total_s
            if total_s is not None and self._last_total_s is not None
            else sum(deltas.values())
        )
        self._last, self._last_total_s = now, total_s
        if cpu_energy_j <= 0 or busy_s <= 0 or not deltas:
            return
        scale = cpu_energy_j / max(busy_s, sum(deltas.values()))  # never more than the CPU's
        ranked = sorted(deltas.items(), key=lambda kv: (-kv[1], kv[0]))
        for name, used_s in ranked:
            if used_s <= 0:
                continue
            if name not in self.energy_j and len(self.energy_j) < self.top:
                self.energy_j[name] = 0.0
            if name in self.energy_j:
                self.energy_j[name] += used_s * scale
            else:
                self.other_j += used_s * scale

    def totals(self) -> dict[str, float]:
        """Joules so far per label: the admitted units, and ``other``."""
        return {**self.energy_j, OTHER: self.other_j}
