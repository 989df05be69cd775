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
    paths: dict[str, str] = {}  # controller ("" for the v2 unified tree) -> cgroup path
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    # On a hybrid host the cpu controller is bound to v1 even though a "0::" line exists, so
    # a v1 cpu line wins.
    if "cpu" in paths:
        return _v1(paths["cpu"], paths.get("cpuacct", paths["cpu"]), cgroup_root)
    if "" in paths:
        return _v2(paths[""], cgroup_root)
    return CgroupCpu(None, None, 0.0, 0)


def _ancestors(leaf: Path, top: Path) -> list[Path]:
    """``leaf`` and its parents up to ``top`` (limits on any of them apply)."""
    out = [leaf]
    while leaf != top and top in leaf.parents:
        leaf = leaf.parent
        out.append(leaf)
    return out


def _v2(rel: str, cgroup_root: Path) -> CgroupCpu:
    leaf = cgroup_root / rel.lstrip("/")
    quotas = [q for d in _ancestors(leaf, cgroup_root) if (q := _v2_quota(d / "cpu.max"))]
    stat = leaf / "cpu.stat"
    return CgroupCpu(min(quotas) if quotas else None, stat if stat.exists() else None, 1e-6, 2)


def _v1_dir(controller: str, rel: str, cgroup_root: Path) -> tuple[Path, Path]:
    """(the cgroup's directory, the hierarchy's mount) for a v1 controller."""
    mounts = [m for m in ("cpu,cpuacct", "cpuacct,cpu", controller) if (cgroup_root / m).is_dir()]
    mount = cgroup_root / (mounts[0] if mounts else controller)
    leaf = mount / rel.lstrip("/")
    # Inside a container the hierarchy is usually mounted at the container's own cgroup, so
    # the path /proc/self/cgroup names (the host's) does not exist there: use the mount.
    return (leaf if leaf.is_dir() else mount), mount


def _v1(cpu_rel: str, acct_rel: str, cgroup_root: Path) -> CgroupCpu:
    leaf, mount = _v1_dir("cpu", cpu_rel, cgroup_root)
    quotas = [q for d in _ancestors(leaf, mount) if (q := _v1_quota(d))]
    acct, _ = _v1_dir("cpuacct", acct_rel, cgroup_root)
    usage = acct / "cpuacct.usage"
    return CgroupCpu(min(quotas) if quotas else None, usage if usage.exists() else None, 1e-9, 1)
