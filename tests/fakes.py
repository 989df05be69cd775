"""Fake hardware at the lowest boundary: files laid out like the kernel's.

FakePowercap copies the powercap sysfs ABI (Documentation/power/powercap/powercap.rst and
drivers/powercap/intel_rapl_common.c):
- ``/sys/class/powercap/<zone>`` entries are symlinks into ``/sys/devices/virtual/powercap/
  <control-type>/...``; a sub-zone's directory sits *inside* its parent zone's directory;
- each zone has ``name``, ``energy_uj``, ``max_energy_range_uj``, ``enabled`` and
  ``constraint_N_{name,power_limit_uw,time_window_us[,max_power_uw]}``;
- the counter is the 32-bit MSR count times the energy unit, so ``max_energy_range_uj`` is
  ``0xffffffff * unit`` and the counter wraps to 0 one unit after that value;
- the driver reports ``energy_uj`` in whole microjoules (truncated).

FakeProc copies proc(5): ``/proc/stat`` (first line ``cpu`` in USER_HZ ticks), ``/proc/meminfo``
(kB), ``/proc/cpuinfo``, ``/proc/<pid>/{stat,io,cgroup}`` and
``/proc/<pid>/task/<tid>/children`` (space-separated child pids, CONFIG_PROC_CHILDREN).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from wattprint.sensors.procfs import CLOCK_TICKS_PER_S, PAGE_SIZE_B

#: The run record's contract (DESIGN.md): fields tests and users rely on.
RECORD_KEYS = {
    "run_id",
    "project",
    "started_at",
    "duration_s",
    "energy_kwh",
    "co2_kg",
    "zone",
    "intensity_g_per_kwh",
    "intensity_source",
    "pue",
    "exit_code",
    "components",
}
RECORD_COMPONENT_KEYS = {"name", "device", "energy_kwh", "method", "provenance", "uncertainty_pct"}

INTEL_UNIT_UJ = 1e6 / 2**14  # 61.035 µJ: Intel's energy status unit (2^-14 J)
AMD_UNIT_UJ = 1e6 / 2**16  # 15.259 µJ: AMD Zen's energy status unit


class FakeClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self, t_s: float = 1000.0) -> None:
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s

    def advance(self, dt_s: float) -> None:
        self.t_s += dt_s


@dataclass
class FakeZone:
    path: Path
    unit_uj: float
    counts: int = 0  # raw MSR count

    @property
    def modulus(self) -> int:
        return 2**32

    @property
    def range_uj(self) -> int:
        return int((self.modulus - 1) * self.unit_uj)

    def add_energy_j(self, energy_j: float) -> None:
        """The hardware counts ``energy_j`` more, wrapping like the 32-bit MSR."""
        self.counts = (self.counts + round(energy_j * 1e6 / self.unit_uj)) % self.modulus
        self._write()

    def set_counts(self, counts: int) -> None:
        self.counts = counts % self.modulus
        self._write()

    def _write(self) -> None:
        (self.path / "energy_uj").write_text(f"{int(self.counts * self.unit_uj)}\n")


@dataclass
class FakePowercap:
    """A powercap tree under ``sys_root`` (a stand-in for ``/sys``)."""

    sys_root: Path
    zones: dict[str, FakeZone] = field(default_factory=dict)

    @property
    def class_dir(self) -> Path:
        return self.sys_root / "class" / "powercap"

    def add_zone(
        self,
        zone_id: str,
        name: str,
        *,
        control: str = "intel-rapl",
        unit_uj: float = INTEL_UNIT_UJ,
        max_power_uw: int | None = None,
        power_limit_uw: int | None = 150_000_000,
    ) -> FakeZone:
        """``zone_id`` like ``intel-rapl:0`` or ``intel-rapl:0:2``."""
        devices = self.sys_root / "devices" / "virtual" / "powercap" / control
        parts = zone_id.split(":")
        real = devices
        for depth in range(2, len(parts) + 1):
            real = real / ":".join(parts[:depth])
        real.mkdir(parents=True, exist_ok=True)
        self.class_dir.mkdir(parents=True, exist_ok=True)
        if not (self.class_dir / control).exists():
            os.symlink(os.path.relpath(devices, self.class_dir), self.class_dir / control)
        os.symlink(os.path.relpath(real, self.class_dir), self.class_dir / zone_id)
        zone = FakeZone(real, unit_uj)
        (real / "name").write_text(f"{name}\n")
        (real / "enabled").write_text("1\n")
        (real / "max_energy_range_uj").write_text(f"{zone.range_uj}\n")
        if power_limit_uw is not None:
            (real / "constraint_0_name").write_text("long_term\n")
            (real / "constraint_0_power_limit_uw").write_text(f"{power_limit_uw}\n")
            (real / "constraint_0_time_window_us").write_text("27983872\n")
            if max_power_uw is not None:
                (real / "constraint_0_max_power_uw").write_text(f"{max_power_uw}\n")
        zone._write()
        self.zones[zone_id] = zone
        return zone


def intel_two_socket(sys_root: Path) -> FakePowercap:
    """A 2-socket Xeon server: package + core + uncore(no) + dram per socket, plus the MMIO
    duplicate of package-0 that kernels >= 5.3 expose on some parts."""
    pc = FakePowercap(sys_root)
    for pkg in (0, 1):
        pc.add_zone(f"intel-rapl:{pkg}", f"package-{pkg}", max_power_uw=300_000_000)
        pc.add_zone(f"intel-rapl:{pkg}:0", "core", power_limit_uw=0)
        pc.add_zone(f"intel-rapl:{pkg}:1", "dram", power_limit_uw=0)
    pc.add_zone("intel-rapl-mmio:0", "package-0", control="intel-rapl-mmio")
    return pc


def amd_two_die(sys_root: Path) -> FakePowercap:
    """AMD Zen under the intel-rapl driver: package zones with per-core sub-zones, no dram,
    no constraint files, 15.3 µJ unit (the counter wraps after ~65.5 kJ)."""
    pc = FakePowercap(sys_root)
    for pkg in (0, 1):
        pc.add_zone(f"intel-rapl:{pkg}", f"package-{pkg}", unit_uj=AMD_UNIT_UJ, power_limit_uw=None)
        pc.add_zone(f"intel-rapl:{pkg}:0", "core", unit_uj=AMD_UNIT_UJ, power_limit_uw=None)
    return pc


@dataclass
class FakeProcess:
    pid: int
    ppid: int
    cpu_ticks: int = 0  # utime + stime
    child_ticks: int = 0  # cutime + cstime (reaped children)
    rss_pages: int = 0
    io_b: int = 0
    threads: list[int] = field(default_factory=list)
    parent_tid: int | None = None  # the parent's thread that forked it (default: its main)


class FakeProc:
    """A ``/proc`` with a machine and a process tree the test drives."""

    def __init__(
        self,
        root: Path,
        *,
        cpus: int = 2,
        mem_total_kb: int = 16_000_000,
        model_name: str = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
        hypervisor: bool = False,
    ) -> None:
        self.root = root
        self.cpus = cpus
        self.busy_ticks = 0
        self.idle_ticks = 0
        self.mem_total_kb = mem_total_kb
        self.mem_available_kb = mem_total_kb // 2
        self.procs: dict[int, FakeProcess] = {}
        root.mkdir(parents=True, exist_ok=True)
        flags = "fpu vme sse sse2" + (" hypervisor" if hypervisor else "")
        (root / "cpuinfo").write_text(
            "".join(
                f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: {model_name}\n"
                f"physical id\t: 0\nflags\t\t: {flags}\n\n"
                for i in range(cpus)
            )
        )
        (root / "self").mkdir(exist_ok=True)
        (root / "self" / "cgroup").write_text("0::/\n")
        self.write()

    def add_process(
        self,
        pid: int,
        ppid: int,
        *,
        threads: tuple[int, ...] = (),
        parent_tid: int | None = None,
        **kw: int,
    ) -> FakeProcess:
        """``threads``: extra thread ids; ``parent_tid``: which of the parent's threads forked
        it (the kernel lists a child in that thread's ``children`` file only)."""
        p = FakeProcess(pid, ppid, **kw)
        p.threads = [pid, *threads]
        p.parent_tid = parent_tid
        self.procs[pid] = p
        self.write()
        return p

    def remove_process(self, pid: int) -> None:
        """The process exits and its parent reaps it: its times move to the parent's cutime."""
        p = self.procs.pop(pid)
        parent = self.procs.get(p.ppid)
        if parent is not None:
            parent.child_ticks += p.cpu_ticks + p.child_ticks
        shutil.rmtree(self.root / str(pid), ignore_errors=True)
        self.write()

    def run_for(
        self, dt_s: float, busy_cpus: float, proc_cpus: dict[int, float] | None = None
    ) -> None:
        """Advance the machine's counters: ``busy_cpus`` CPUs busy for ``dt_s``, of which
        each listed process used ``proc_cpus[pid]`` CPUs."""
        self.busy_ticks += round(busy_cpus * dt_s * CLOCK_TICKS_PER_S)
        self.idle_ticks += round((self.cpus - busy_cpus) * dt_s * CLOCK_TICKS_PER_S)
        for pid, cpus in (proc_cpus or {}).items():
            self.procs[pid].cpu_ticks += round(cpus * dt_s * CLOCK_TICKS_PER_S)
        self.write()

    def write(self) -> None:
        b = self.busy_ticks
        # user nice system idle iowait irq softirq steal guest guest_nice
        user, system = b - b // 4, b // 4
        (self.root / "stat").write_text(
            f"cpu  {user} 0 {system} {self.idle_ticks} 0 0 0 0 0 0\n"
            + "".join(f"cpu{i} 0 0 0 0 0 0 0 0 0 0\n" for i in range(self.cpus))
            + "intr 0\nctxt 0\nbtime 0\nprocesses 1\n"
        )
        (self.root / "meminfo").write_text(
            f"MemTotal:       {self.mem_total_kb} kB\nMemFree:        0 kB\n"
            f"MemAvailable:   {self.mem_available_kb} kB\n"
        )
        for p in self.procs.values():
            d = self.root / str(p.pid)
            d.mkdir(exist_ok=True)
            u, s = p.cpu_ticks - p.cpu_ticks // 3, p.cpu_ticks // 3
            cu, cs = p.child_ticks - p.child_ticks // 2, p.child_ticks // 2
            # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
            # utime stime cutime cstime ...; comm may hold spaces and parentheses
            (d / "stat").write_text(
                f"{p.pid} (py thon (x)) S {p.ppid} 1 1 0 -1 0 0 0 0 0 {u} {s} {cu} {cs} "
                f"20 0 {len(p.threads)} 0 100 4096000 {p.rss_pages} 18446744073709551615\n"
            )
            (d / "io").write_text(
                f"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\n"
                f"read_bytes: {p.io_b}\nwrite_bytes: 0\n"
                "cancelled_write_bytes: 0\n"
            )
            for tid in p.threads:
                kids = "".join(
                    f"{c.pid} "
                    for c in self.procs.values()
                    if c.ppid == p.pid and (c.parent_tid or p.pid) == tid
                )
                t = d / "task" / str(tid)
                t.mkdir(parents=True, exist_ok=True)
                (t / "children").write_text(kids)


__all__ = [
    "PAGE_SIZE_B",
    "FakeClock",
    "FakePowercap",
    "FakeProc",
    "amd_two_die",
    "intel_two_socket",
]
