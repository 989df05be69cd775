"""CPU quota and usage of the cgroup this process runs in (containers).

cgroup v2 (Documentation/admin-guide/cgroup-v2.rst): ``cpu.max`` holds ``$MAX $PERIOD`` or
``max $PERIOD``; ``cpu.stat`` holds ``usage_usec``. cgroup v1: ``cpu.cfs_quota_us`` (-1 = no
limit) and ``cpu.cfs_period_us`` in the ``cpu`` hierarchy, ``cpuacct.usage`` (ns). A limit set on
any ancestor applies, so the smallest along the path wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CgroupCpu:
    quota_cpus: float | None  # CPUs' worth of time per period, None when unlimited
    usage_file: Path | None  # where the cgroup's cumulative CPU time is
    usage_unit_s: float  # seconds per unit in usage_file (1e-6 for usec, 1e-9 for ns)
    version: int

    def usage_s(self) -> float | None:
        if self.usage_file is None:
            return None
        try:
            text = self.usage_file.read_text()
        except OSError:
            return None
        if self.version == 2:
            for line in text.splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) * self.usage_unit_s
            return None
        return int(text.strip()) * self.usage_unit_s


def _v2_quota(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def _v1_quota(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def read_cgroup_cpu(
    pid: int = 0, proc_dir: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")
) -> CgroupCpu:
    """The CPU quota that applies to ``pid`` (0: this process) and where to read its usage."""
    try:
        lines = (proc_dir / (str(pid) if pid else "self") / "cgroup").read_text().splitlines()
    except OSError:
        return CgroupCpu(None, None, 0.0, 0)
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, rel = parts
        if hier == "0" and controllers == "":  # v2 unified
            leaf = cgroup_root / rel.lstrip("/")
            quotas = []
            d = leaf
            while True:
                q = _v2_quota(d / "cpu.max")
                if q is not None:
                    quotas.append(q)
                if d == cgroup_root or cgroup_root not in d.parents:
                    break
                d = d.parent
            stat = leaf / "cpu.stat"
            return CgroupCpu(
                min(quotas) if quotas else None, stat if stat.exists() else None, 1e-6, 2
            )
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and "cpu" in parts[1].split(","):
            rel = parts[2].lstrip("/")
            for mount in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
                leaf = cgroup_root / mount / rel
                if leaf.is_dir():
                    break
            else:
                leaf = cgroup_root / "cpu" / rel
            if not leaf.is_dir():  # in a container the v1 cgroup is often mounted at its root
                leaf = cgroup_root / "cpu"
            usage = leaf / "cpuacct.usage"
            return CgroupCpu(_v1_quota(leaf), usage if usage.exists() else None, 1e-9, 1)
    return CgroupCpu(None, None, 0.0, 0)
