"""Resource use read straight from Linux procfs (proc(5)).

psutil would do, but its ``children()`` scans every process on the machine each call; reading
``/proc/<pid>/task/<tid>/children`` (CONFIG_PROC_CHILDREN, on by default in distribution
kernels) walks only the tracked tree, which keeps a 1 Hz sampler far below its budget. The
directory is configurable so tests can lay out a fake ``/proc``.
"""

from __future__ import annotations

import os
from pathlib import Path

from wattprint.sensors.pread import PreadFile

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE_B = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _read_once(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError:
        return None


class ProcFS:
    """Readers over one procfs mount. Files stay open between ticks (see :mod:`.pread`); a
    per-process file whose process has exited fails and is dropped."""

    def __init__(self, proc_dir: Path = Path("/proc")) -> None:
        self.root = str(proc_dir)
        self._has_children_file: bool | None = None
        self._files: dict[str, PreadFile] = {}

    def _read(self, path: str, size: int = 65536) -> str | None:
        f = self._files.get(path)
        if f is None:
            f = self._files[path] = PreadFile(path)
        text = f.read_text(size)
        if text is None:
            del self._files[path]
        return text

    def forget_except(self, pids: list[int]) -> None:
        """Close the files of processes no longer in the tree."""
        keep = tuple(f"{self.root}/{pid}/" for pid in pids)
        prefix = len(self.root) + 1
        for path in [p for p in self._files if p[prefix:][:1].isdigit()]:
            if not path.startswith(keep):
                self._files.pop(path).close()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    # -- machine -------------------------------------------------------------------------
    def machine_busy_cpu_s(self) -> float | None:
        """CPU-seconds spent busy since boot, all CPUs: user+nice+system+irq+softirq.

        Idle and iowait are not busy; steal is time the hypervisor gave to someone else; guest
        time is already inside user (proc(5)).
        """
        text = self._read(f"{self.root}/stat", 1024)
        if text is None or not text.startswith("cpu "):
            return None
        f = text.split("\n", 1)[0].split()
        try:
            ticks = sum(int(f[i]) for i in (1, 2, 3, 6, 7))
        except (IndexError, ValueError):
            return None
        return ticks / CLOCK_TICKS_PER_S

    def machine_mem_used_b(self) -> int | None:
        """MemTotal - MemAvailable (what ``free`` calls used, as the kernel estimates it)."""
        text = self._read(f"{self.root}/meminfo", 1024)
        if text is None:
            return None
        total = avail = None
        for line in text.splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
            elif line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
            if total is not None and avail is not None:
                return max(0, total - avail)
        return None

    def machine_mem_total_b(self) -> int | None:
        text = self._read(f"{self.root}/meminfo", 1024)
        if text is None:
            return None
        for line in text.splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
        return None

    # -- process tree --------------------------------------------------------------------
    def _children(self, pid: int, all_threads: bool) -> list[int] | None:
        """Live children of ``pid``; None when unknown (no children files, and no scan)."""
        if self._has_children_file is not False:
            tasks = f"{self.root}/{pid}/task"
            if all_threads:
                try:
                    tids = os.listdir(tasks)
                except OSError:
                    return []
            else:  # the main thread only: processes spawned by other threads wait for a walk
                tids = [str(pid)]
            kids: list[int] = []
            found = False
            for tid in tids:
                # Only the main thread's file stays open (pruned with its process); threads
                # come and go, and caching theirs would leak a descriptor per thread.
                path = f"{tasks}/{tid}/children"
                text = self._read(path) if tid == str(pid) else _read_once(path)
                if text is None:
                    continue
                found = True
                kids.extend(int(k) for k in text.split())
            if found:
                self._has_children_file = True
                return kids
            if self._has_children_file is None and tids and self._lacks_children_file(tasks, tids):
                self._has_children_file = False
            elif not all_threads:
                return None
        return self._children_by_scan(pid) if all_threads else None

    @staticmethod
    def _lacks_children_file(tasks: str, tids: list[str]) -> bool:
        """True when the kernel has no ``children`` files (CONFIG_PROC_CHILDREN off), as
        opposed to a process that exited between listing its threads and reading them."""
        return os.path.isdir(f"{tasks}/{tids[0]}") and not os.path.exists(
            f"{tasks}/{tids[0]}/children"
        )

    def _children_by_scan(self, pid: int) -> list[int]:
        kids = []
        for name in os.listdir(self.root):
            if name.isdigit():
                stat = _read_once(f"{self.root}/{name}/stat")
                if stat is not None:
                    fields = stat.rsplit(")", 1)[-1].split()
                    if len(fields) > 1 and fields[1] == str(pid):
                        kids.append(int(name))
        return kids

    def tree(self, root_pid: int, known: list[int] | None = None) -> list[int]:
        """``root_pid`` and its live descendants.

        A full walk (``known`` is None) reads the children of every thread, or scans /proc when
        the kernel has no ``children`` files. A quick walk reads only each process's main-thread
        ``children`` file (one read per process, cheap enough for every tick) and keeps the
        ``known`` processes it cannot check.
        """
        all_threads = known is None
        pids, todo, seen = [], [root_pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            pids.append(pid)
            kids = self._children(pid, all_threads)
            if kids is None:  # no children files: keep what the last full walk found
                break
            todo.extend(kids)
        # A quick walk cannot see children of non-main threads: keep the known ones (one that
        # has exited fails its stat read and counts nothing; the next full walk drops it).
        return pids + [p for p in known or () if p not in seen]

    def tree_cpu_and_rss(self, pids: list[int]) -> tuple[float, int]:
        """CPU-seconds and resident bytes of the processes, from one read of proc/<pid>/stat
        each. CPU time includes the children they have reaped (cutime, cstime), so a short-lived
        child that a tree member waited for counts even if no tick saw it alive. Shared pages
        count once per process."""
        ticks = rss_pages = 0
        for pid in pids:
            stat = self._read(f"{self.root}/{pid}/stat", 1024)
            if stat is None:
                continue
            fields = stat.rsplit(")", 1)[-1].split()
            try:
                # after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13)
                # cstime(14) ... rss(21), in pages
                ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
                rss_pages += int(fields[21])
            except (IndexError, ValueError):
                continue
        return ticks / CLOCK_TICKS_PER_S, rss_pages * PAGE_SIZE_B

    def tree_io_b(self, pids: list[int]) -> int | None:
        """Bytes the processes caused to be read from / written to storage (proc/<pid>/io)."""
        total = 0
        seen = False
        for pid in pids:
            text = self._read(f"{self.root}/{pid}/io", 1024)
            if text is None:
                continue
            for line in text.splitlines():
                if line.startswith(("read_bytes:", "write_bytes:")):
                    total += int(line.split()[1])
                    seen = True
        return total if seen else None
