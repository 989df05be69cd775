"""Collects the resource-use counters (:class:`~wattprint.sensors.base.Usage`) once per reading.

Every sensor and the attribution step read the same snapshot, so one tick costs one pass over
procfs whatever the number of sensors.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from wattprint.errors import ConfigError
from wattprint.sensors.base import DiskCounters, Usage
from wattprint.sensors.cgroup import CgroupCpu
from wattprint.sensors.procfs import ProcFS


class DiskReader(Protocol):
    def read(self) -> dict[str, DiskCounters]: ...

    def close(self) -> None: ...


def _thread_io_b() -> int:
    """Bytes this thread caused to be read from or written to storage (Linux
    ``/proc/thread-self/io``; 0 where there is none)."""
    try:
        with open("/proc/thread-self/io", "rb") as f:
            text = f.read(1024)
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith((b"read_bytes:", b"write_bytes:")):
            total += int(line.split()[1])
    return total


class OwnUse:
    """wattprint's own CPU time and storage I/O, measured around its own work (each sampler
    tick, each reading at a window edge, each store write on the caller's thread) with the
    working thread's counters, so that the meter can take it out of the tracked tree's use
    and report it as overhead. Cumulative; the GIL makes the additions atomic enough (each
    is a single float/int add under the lock)."""

    __slots__ = ("_lock", "cpu_s", "io_b")

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.io_b = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def measure(self, *, io: bool = True) -> Iterator[None]:
        """Count this thread's CPU time in the block, and its storage I/O unless ``io`` is
        False: work that reads only procfs and sysfs does no block I/O, and opening
        ``/proc/thread-self/io`` twice is most of a cold sampler tick's cost."""
        cpu0 = time.thread_time()
        io0 = _thread_io_b() if io else 0
        try:
            yield
        finally:
            cpu_s = time.thread_time() - cpu0
            io_b = _thread_io_b() - io0 if io else 0
            with self._lock:
                self.cpu_s += max(0.0, cpu_s)
                self.io_b += max(0, io_b)

    @contextlib.contextmanager
    def measure_io(self) -> Iterator[None]:
        """Count this thread's storage I/O in the block (its CPU is measured around it)."""
        io0 = _thread_io_b()
        try:
            yield
        finally:
            io_b = _thread_io_b() - io0
            with self._lock:
                self.io_b += max(0, io_b)


class UsageProbe:
    """Reads machine counters, and process-tree counters when ``root_pid`` is given."""

    def __init__(
        self,
        root_pid: int | None,
        *,
        proc_dir: Path = Path("/proc"),
        cgroup: CgroupCpu | None = None,
        disks: DiskReader | None = None,
        own: OwnUse | None = None,
    ) -> None:
        self.root_pid = root_pid
        self.own = own
        self.procfs = ProcFS(proc_dir)
        self.cgroup = cgroup
        self.disks = disks
        self._psutil = not sys.platform.startswith("linux")
        self._tree: frozenset[int] = frozenset()
        self._pids: list[int] = []
        # Our own process's CPU time comes from times(2), not a file (cheaper per tick).
        self._own_root = root_pid == os.getpid() and str(proc_dir) == "/proc"

    def close(self) -> None:
        self.procfs.close()
        if self.disks is not None:
            self.disks.close()

    def read(self, t_s: float, full: bool = True) -> Usage:
        """One snapshot. A *full* read also covers the slow-changing counters (memory, disks,
        process I/O) and re-walks the process tree; a fast read re-reads only the CPU-time
        counters of the processes found by the last full read. Either way nothing is lost:
        every counter is cumulative, and a child that started since the last walk, or exited
        and was reaped by a tree member, is counted in full at the next full read."""
        if self._psutil:
            return _psutil_usage(t_s, self.root_pid)
        fs = self.procfs
        cgroup = self.cgroup
        if cgroup is not None and cgroup.quota_cpus is not None and cgroup.usage_file is not None:
            # Never mix in the host's counter when one read fails: that would be a jump.
            busy_s = cgroup.usage_s()
        else:
            busy_s = fs.machine_busy_cpu_s()
        disks = self.disks.read() if full and self.disks is not None else None
        mem_used_b = fs.machine_mem_used_b() if full else None
        own = self.own
        own_cpu_s, own_io_b = (own.cpu_s, own.io_b) if own is not None else (0.0, 0)
        if self.root_pid is None:
            return Usage(
                t_s,
                busy_s,
                machine_mem_used_b=mem_used_b,
                disks=disks,
                own_cpu_s=own_cpu_s,
                own_io_b=own_io_b,
            )
        # A full walk covers every thread's children; a quick one sees new children of the
        # tree's main threads within one tick.
        self._pids = fs.tree(self.root_pid, known=None if full or not self._pids else self._pids)
        tree = frozenset(self._pids)
        if tree != self._tree:  # the tree changed: release exited processes' files
            fs.forget_except(self._pids)
            self._tree = tree
        if self._own_root:
            # This process's own times need no file: times(2) gives user, system and the
            # reaped children's times, the same counters as proc/self/stat.
            t = os.times()
            cpu_s, rss_b = fs.tree_cpu_and_rss(self._pids[1:])
            cpu_s += t.user + t.system + t.children_user + t.children_system
            if full:
                rss_b += fs.tree_cpu_and_rss(self._pids[:1])[1]
        else:
            cpu_s, rss_b = fs.tree_cpu_and_rss(self._pids)
        return Usage(
            t_s,
            machine_busy_cpu_s=busy_s,
            process_cpu_s=cpu_s,
            machine_mem_used_b=mem_used_b,
            process_mem_b=rss_b if full else None,
            process_io_b=fs.tree_io_b(self._pids) if disks is not None else None,
            disks=disks,
            pids=tuple(self._pids),
            own_cpu_s=own_cpu_s,
            own_io_b=own_io_b,
            own_in_tree=self._own_root or os.getpid() in tree,
        )


def cpu_capacity(logical_cpus: int, cgroup: CgroupCpu | None) -> float:
    """CPUs' worth of time the "machine" busy counter is out of: every logical CPU (proc/stat
    counts them all), or the cgroup's quota when its own usage counter is used instead.

    An affinity mask is not a limit of the machine's power, only of the process's share, which
    the CPU-time share in the meter already reflects.
    """
    capacity = float(logical_cpus)
    if cgroup is not None and cgroup.quota_cpus is not None and cgroup.usage_file is not None:
        capacity = min(capacity, cgroup.quota_cpus)
    return max(capacity, 0.01)


def _psutil_usage(t_s: float, root_pid: int | None) -> Usage:  # pragma: no cover - non-Linux
    import psutil

    times = psutil.cpu_times()
    busy_s = sum(getattr(times, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
    vm = psutil.virtual_memory()
    if root_pid is None:
        return Usage(t_s, busy_s, machine_mem_used_b=int(vm.total - vm.available))
    cpu_s = 0.0
    rss_b = 0
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    for p in procs:
        try:
            ct = p.cpu_times()
            cpu_s += ct.user + ct.system + ct.children_user + ct.children_system
            rss_b += p.memory_info().rss
        except psutil.Error:
            continue
    return Usage(t_s, busy_s, cpu_s, int(vm.total - vm.available), rss_b)


def check_pid(pid: object, proc_dir: str) -> None:
    """A process to measure must be one that exists now (a pid past the kernel's range or
    of no process would silently measure 0 J)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31:
        raise ConfigError(f"pid={pid!r} is not a process id; give a positive int, or None")
    if os.path.isdir(proc_dir):
        alive = os.path.isdir(os.path.join(proc_dir, str(pid)))
    else:  # no procfs (macOS): ask the kernel
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True  # someone else's process
    if not alive:
        raise ConfigError(f"pid={pid} is no running process; give one that runs")
