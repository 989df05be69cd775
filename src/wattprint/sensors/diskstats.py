"""Whole-disk I/O counters from ``/proc/diskstats``, and what kind of disk each one is.

The kernel's format (Documentation/admin-guide/iostats.rst and
Documentation/ABI/testing/procfs-diskstats) is ``major minor name`` followed by:

====  ===============================  ===========================
 #    field                            kernel
====  ===============================  ===========================
 1    reads completed                  all
 2    reads merged                     all
 3    sectors read                     all
 4    ms spent reading                 all
 5    writes completed                 all
 6    writes merged                    all
 7    sectors written                  all
 8    ms spent writing                 all
 9    I/Os currently in progress       all
 10   ms spent doing I/O ("io_ticks")  all
 11   weighted ms doing I/O            all
 12   discards completed ... 15        4.18+
 16   flushes completed, 17 ms         5.5+
====  ===============================  ===========================

so a line has 14, 18 or 20 whitespace-separated tokens. A "sector" in this file is always 512
bytes whatever the device's logical block size. Only fields 3, 7 and 10 are used.

**Malformed lines are skipped, never raised on**: a line with fewer than 14 tokens, or whose
used fields (or major/minor) are not non-negative integers, is ignored. Extra tokens beyond 20
(a future kernel) are accepted. A whole disk whose line is skipped is simply absent from the
result, which the storage sensor records as a gap.

**Which devices count.** Only whole physical disks, so that nothing is counted twice:

* partitions are not in ``/sys/block`` (they live under ``/sys/block/<disk>/<part>``);
* virtual block devices (loop, dm-*, md*, zram*, ram*, nbd*, drbd*, ...) are registered under
  ``/sys/devices/virtual/block`` with no parent, so ``/sys/block/<name>/device`` is absent; their
  I/O reaches a physical disk that is counted anyway;
* hidden disks (``/sys/block/<name>/hidden`` = 1) and ``nvme<S>c<C>n<N>`` names are the per-path
  devices of native NVMe multipath; the ``nvme<S>n<N>`` head is counted instead (kernels before
  6.0 keep no statistics on the head, so such a setup reads as idle there);
* ``mmcblk<N>boot<M>`` and ``mmcblk<N>rpmb`` are hardware partitions of an eMMC that is counted
  as ``mmcblk<N>``;
* a device with ``size`` 0 has no medium (empty card reader or optical drive, ejected disk).

A sysfs name with ``!`` is a kernel name with ``/`` (e.g. ``cciss!c0d0`` is ``cciss/c0d0`` in
``/proc/diskstats``); results are keyed by the ``/proc/diskstats`` name.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from wattprint.sensors.base import DiskCounters
from wattprint.sensors.pread import PreadFile

__all__ = ["DiskKind", "DiskStatsReader", "disk_kind", "read_disks"]

SECTOR_B = 512  # /proc/diskstats always counts 512-byte sectors
_MIN_FIELDS = 11  # after major minor name: what every kernel since 2.6 prints for a disk
_SECTORS_READ = 2  # 0-based indices of the fields after the name
_SECTORS_WRITTEN = 6
_IO_TICKS = 9

# Whole-disk-looking names that are another view of a disk counted under a different name.
_ALIAS_RE = re.compile(r"nvme\d+c\d+n\d+|mmcblk\d+(?:boot\d+|rpmb)")
_VIRTUAL_PREFIXES = ("vd", "xvd")


class DiskKind(str, enum.Enum):
    """What a disk is, as far as its power draw goes."""

    NVME = "nvme"  # name starts with "nvme"
    SSD = "ssd"  # queue/rotational == 0 (SATA/SAS SSD, eMMC, SD card, USB flash, pmem)
    HDD = "hdd"  # queue/rotational == 1
    VIRTUAL = "virtual"  # vd* (virtio-blk) and xvd* (Xen): the physical device is the host's
    UNKNOWN = "unknown"  # rotational flag missing or unreadable

    def __str__(self) -> str:
        return self.value


def _read_sysfs(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def _sys_name(name: str) -> str:
    return name.replace("/", "!")


def disk_kind(name: str, sys_dir: Path = Path("/sys")) -> DiskKind:
    """Classify a whole disk by its kernel name and ``queue/rotational``.

    Virtio and Xen disks are checked first because a hypervisor often reports them rotational
    whatever backs them. NVMe is told by name: its namespaces report rotational 0 like any SSD,
    but NVMe drives have power figures of their own.
    """
    if name.startswith(_VIRTUAL_PREFIXES):
        return DiskKind.VIRTUAL
    if name.startswith("nvme"):
        return DiskKind.NVME
    rotational = _read_sysfs(sys_dir / "block" / _sys_name(name) / "queue" / "rotational")
    if rotational == "0":
        return DiskKind.SSD
    if rotational == "1":
        return DiskKind.HDD
    return DiskKind.UNKNOWN


def _is_whole_physical_disk(sys_name: str, block_dir: Path) -> bool:
    if _ALIAS_RE.fullmatch(sys_name):
        return False
    base = block_dir / sys_name
    if not os.path.lexists(base / "device"):
        return False
    if _read_sysfs(base / "hidden") == "1":
        return False
    size = _read_sysfs(base / "size")
    return size is not None and size.isdigit() and int(size) > 0


def _whole_disks(sys_dir: Path) -> dict[str, DiskKind]:
    block_dir = sys_dir / "block"
    try:
        entries = sorted(os.listdir(block_dir))
    except OSError:
        return {}
    return {
        sys_name.replace("!", "/"): disk_kind(sys_name.replace("!", "/"), sys_dir)
        for sys_name in entries
        if _is_whole_physical_disk(sys_name, block_dir)
    }


def _parse(text: str, names: frozenset[str]) -> dict[str, DiskCounters]:
    out: dict[str, DiskCounters] = {}
    for line in text.splitlines():
        # Split off the name first: most lines (partitions, loop, dm) stop here, cheaply.
        head = line.split(None, 3)
        if len(head) < 4 or head[2] not in names:
            continue
        fields = head[3].split()
        if len(fields) < _MIN_FIELDS:
            continue
        try:
            major = int(head[0])
            minor = int(head[1])
            sectors_read = int(fields[_SECTORS_READ])
            sectors_written = int(fields[_SECTORS_WRITTEN])
            busy_ms = int(fields[_IO_TICKS])
        except ValueError:
            continue
        if min(major, minor, sectors_read, sectors_written, busy_ms) < 0:
            continue
        out[head[2]] = DiskCounters(
            read_b=sectors_read * SECTOR_B,
            written_b=sectors_written * SECTOR_B,
            busy_ms=busy_ms,
        )
    return out


class DiskStatsReader:
    """Reads the counters of this machine's whole physical disks (on the meter's full reads).

    The set of disks is resolved once, at construction: from sysfs, and only if
    ``/proc/diskstats`` can be read then (otherwise there are none). A disk added later is not
    seen; one removed later is missing from :meth:`read`, and its sensor records a gap.
    """

    def __init__(self, proc_dir: Path = Path("/proc"), sys_dir: Path = Path("/sys")) -> None:
        self._file = PreadFile(os.fspath(proc_dir / "diskstats"))
        self._disks = _whole_disks(sys_dir) if self._read_text() is not None else {}
        self._names = frozenset(self._disks)
        self._disks_view: Mapping[str, DiskKind] = MappingProxyType(self._disks)

    @property
    def disks(self) -> Mapping[str, DiskKind]:
        """Whole physical disks by ``/proc/diskstats`` name, with their kinds (read-only)."""
        return self._disks_view

    def read(self) -> dict[str, DiskCounters]:
        """Current counters of the whole disks found at construction that are still listed.

        Never raises: it runs inside every tick. If ``/proc/diskstats`` has become unreadable
        the result is ``{}``, which each storage sensor records as a gap. With no whole disks
        the file is not read at all.
        """
        if not self._names:
            return {}
        text = self._read_text()
        return {} if text is None else _parse(text, self._names)

    def close(self) -> None:
        self._file.close()

    def _read_text(self) -> str | None:
        try:
            return self._file.read_all().decode("ascii", "replace")
        except OSError:
            return None


def read_disks(
    proc_dir: Path = Path("/proc"), sys_dir: Path = Path("/sys")
) -> dict[str, DiskCounters]:
    """One-shot :meth:`DiskStatsReader.read`; resolves the disk set every call, so do not use it
    at every tick."""
    return DiskStatsReader(proc_dir, sys_dir).read()
