from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattprint.sensors.base import DiskCounters
from wattprint.sensors.diskstats import DiskKind, DiskStatsReader, disk_kind, read_disks

# One kernel prints one format; mixing them here lets one file exercise the three of them.
DISKSTATS = (
    " 259       0 nvme0n1 183522 54 10582014 30771 512466 335012 35237096 1244163 0 407116 1310620"
    " 0 0 0 0 41291 35686\n"
    " 259       1 nvme0n1p1 331 0 13402 52 2 0 2 0 0 88 52 0 0 0 0 0 0\n"
    " 259       2 nvme0n1p2 183104 54 10563644 30706 512464 335012 35237094 1244163 0 407004"
    " 1274869 0 0 0 0 0 0\n"
    "   8       0 sda 9472 2197 1011946 95466 3360 1843 69808 10920 0 58420 108028 0 0 0 0\n"
    "   8       1 sda1 9300 2197 1006538 95217 3356 1843 69808 10912 0 58232 106129 0 0 0 0\n"
    "   8      16 sdb 52021 1102 3413410 377108 10251 21344 251640 168876 0 172420 546128\n"
    "  11       0 sr0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "   7       0 loop0 1066 0 26030 342 0 0 0 0 0 1152 342 0 0 0 0 0 0\n"
    " 253       0 dm-0 193310 0 10557242 42000 847476 0 35237096 3352880 0 407736 3394880"
    " 0 0 0 0 0 0\n"
    " 252       0 zram0 42 0 336 0 1024 0 8192 12 0 16 12 0 0 0 0 0 0\n"
)

WHOLE = {"nvme0n1", "sda", "sdb"}


def _make_disk(
    sys_dir: Path,
    name: str,
    devpath: str,
    *,
    parent: str | None,
    rotational: str | None = "0",
    size: str = "1000215216",
    partitions: tuple[str, ...] = (),
    hidden: str | None = None,
) -> None:
    """Add ``/sys/devices/<devpath>/<name>`` and the ``/sys/block/<name>`` link to it.

    ``parent`` is the directory under ``/sys/devices`` that ``device`` points at; ``None`` makes
    a virtual device, which the kernel registers without a parent and thus without ``device``.
    """
    disk_dir = sys_dir / "devices" / devpath / name
    (disk_dir / "queue").mkdir(parents=True)
    if rotational is not None:
        (disk_dir / "queue" / "rotational").write_text(rotational + "\n")
    (disk_dir / "size").write_text(size + "\n")
    if hidden is not None:
        (disk_dir / "hidden").write_text(hidden + "\n")
    if parent is not None:
        target = sys_dir / "devices" / parent
        target.mkdir(parents=True, exist_ok=True)
        (disk_dir / "device").symlink_to(os.path.relpath(target, disk_dir))
    for part in partitions:  # partitions: a subdirectory of the disk, never in /sys/block
        (disk_dir / part).mkdir()
        (disk_dir / part / "size").write_text("2048\n")
        (disk_dir / part / "partition").write_text("1\n")
    (sys_dir / "block").mkdir(exist_ok=True)
    (sys_dir / "block" / name).symlink_to(os.path.relpath(disk_dir, sys_dir / "block"))


@pytest.fixture
def machine(tmp_path: Path) -> tuple[Path, Path]:
    """A ``(proc_dir, sys_dir)`` pair laid out the way Linux lays them out.

    Copies this kernel behaviour:

    * ``/proc/diskstats`` lists every block device, whole disks and partitions alike, with 11
      fields after the name (before 4.18), 15 (4.18+, discards) or 17 (5.5+, flushes);
    * ``/sys/block`` holds one symlink per *whole* device, into ``/sys/devices/...``;
      partitions are subdirectories of their disk (``.../nvme0n1/nvme0n1p1``), not entries of
      ``/sys/block``;
    * a disk with a parent device has ``device`` -> that parent (the NVMe controller, the SCSI
      device); loop, device-mapper and zram devices live under ``/sys/devices/virtual/block``
      without a parent and so without ``device``;
    * ``queue/rotational`` is 1 for spinning disks, 0 otherwise; ``size`` is in 512-byte
      sectors and 0 for a drive without a medium (``sr0``: an empty optical drive).
    """
    proc_dir, sys_dir = tmp_path / "proc", tmp_path / "sys"
    proc_dir.mkdir()
    (proc_dir / "diskstats").write_text(DISKSTATS)
    pci = "pci0000:00/0000:00:1d.0/0000:3d:00.0"
    _make_disk(
        sys_dir,
        "nvme0n1",
        f"{pci}/nvme/nvme0",
        parent=f"{pci}/nvme/nvme0",
        partitions=("nvme0n1p1", "nvme0n1p2"),
    )
    scsi = "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"
    _make_disk(sys_dir, "sda", f"{scsi}/block", parent=scsi, rotational="1", partitions=("sda1",))
    scsi_b = "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0"
    _make_disk(sys_dir, "sdb", f"{scsi_b}/block", parent=scsi_b, rotational="0")
    scsi_r = "pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0"
    _make_disk(sys_dir, "sr0", f"{scsi_r}/block", parent=scsi_r, rotational="1", size="0")
    for virtual in ("loop0", "dm-0", "zram0"):
        _make_disk(sys_dir, virtual, "virtual/block", parent=None)
    return proc_dir, sys_dir


def test_fixture_has_each_kernel_format() -> None:
    by_name = {line.split()[2]: len(line.split()) for line in DISKSTATS.splitlines()}
    assert (by_name["nvme0n1"], by_name["sda"], by_name["sdb"]) == (20, 18, 14)


def test_parses_20_field_line(machine: tuple[Path, Path]) -> None:
    disks = DiskStatsReader(*machine).read()
    assert disks["nvme0n1"] == DiskCounters(
        read_b=10582014 * 512, written_b=35237096 * 512, busy_ms=407116
    )


def test_parses_18_field_line(machine: tuple[Path, Path]) -> None:
    disks = DiskStatsReader(*machine).read()
    assert disks["sda"] == DiskCounters(read_b=1011946 * 512, written_b=69808 * 512, busy_ms=58420)


def test_parses_14_field_line_of_old_kernel(machine: tuple[Path, Path]) -> None:
    disks = DiskStatsReader(*machine).read()
    assert disks["sdb"] == DiskCounters(
        read_b=3413410 * 512, written_b=251640 * 512, busy_ms=172420
    )


def test_keeps_whole_physical_disks_only(machine: tuple[Path, Path]) -> None:
    reader = DiskStatsReader(*machine)
    assert set(reader.disks) == WHOLE  # no partitions, loop0, dm-0, zram0, nor empty sr0
    assert set(reader.read()) == WHOLE


def test_kinds(machine: tuple[Path, Path]) -> None:
    assert dict(DiskStatsReader(*machine).disks) == {
        "nvme0n1": DiskKind.NVME,
        "sda": DiskKind.HDD,
        "sdb": DiskKind.SSD,
    }


def test_disks_view_is_read_only(machine: tuple[Path, Path]) -> None:
    disks = DiskStatsReader(*machine).disks
    with pytest.raises(TypeError):
        disks["sdc"] = DiskKind.SSD  # type: ignore[index]


def test_virtual_disk_kinds(tmp_path: Path) -> None:
    """virtio and Xen disks say rotational=1 whatever backs them: they are VIRTUAL."""
    for name in ("vda", "xvda"):
        _make_disk(
            tmp_path,
            name,
            "pci0000:00/0000:00:02.0/virtio1/block",
            parent="x/virtio1",
            rotational="1",
        )
        assert disk_kind(name, tmp_path) is DiskKind.VIRTUAL
    _make_disk(tmp_path, "sdz", "p/block", parent="p", rotational=None)
    assert disk_kind("sdz", tmp_path) is DiskKind.UNKNOWN
    assert disk_kind("nosuchdisk", tmp_path) is DiskKind.UNKNOWN
    assert disk_kind("nvme1n1", tmp_path) is DiskKind.NVME  # decided by name alone


def test_aliases_of_counted_disks_are_skipped(tmp_path: Path) -> None:
    """NVMe multipath path devices and eMMC boot areas would count one drive twice."""
    proc_dir, sys_dir = tmp_path / "proc", tmp_path / "sys"
    proc_dir.mkdir()
    line = "{} 0 {} 1 0 8 1 1 0 8 1 0 5 2 0 0 0 0 0 0\n"
    names = ("nvme0n1", "nvme0c0n1", "mmcblk0", "mmcblk0boot0", "mmcblk0rpmb", "cciss/c0d0")
    (proc_dir / "diskstats").write_text("".join(line.format(i, n) for i, n in enumerate(names)))
    subsys = "virtual/nvme-subsystem/nvme-subsys0"
    _make_disk(sys_dir, "nvme0n1", subsys, parent=subsys)  # the multipath head
    _make_disk(sys_dir, "nvme0c0n1", "pci/nvme/nvme0", parent="pci/nvme/nvme0", hidden="1")
    for name in ("mmcblk0", "mmcblk0boot0", "mmcblk0rpmb"):
        _make_disk(sys_dir, name, "soc/mmc0/mmc0:0001/block", parent="soc/mmc0/mmc0:0001")
    _make_disk(sys_dir, "cciss!c0d0", "pci/cciss0", parent="pci/cciss0")
    reader = DiskStatsReader(proc_dir, sys_dir)
    assert set(reader.disks) == {"nvme0n1", "mmcblk0", "cciss/c0d0"}
    assert set(reader.read()) == {"nvme0n1", "mmcblk0", "cciss/c0d0"}
    assert reader.disks["cciss/c0d0"] is DiskKind.SSD


def test_malformed_and_short_lines_are_skipped(machine: tuple[Path, Path]) -> None:
    proc_dir, sys_dir = machine
    (proc_dir / "diskstats").write_text(
        "   8       0 sda 9472 2197 1011946\n"  # truncated
        "   8      16 sdb 1 2 x 4 5 6 7 8 0 9 10\n"  # not a number
        "   8      16 nvme0n1 1 2 -3 4 5 6 7 8 0 9 10\n"  # negative
        "\n"
        "garbage\n"
    )
    assert DiskStatsReader(proc_dir, sys_dir).read() == {}


def test_tokens_beyond_20_are_accepted(machine: tuple[Path, Path]) -> None:
    proc_dir, sys_dir = machine
    (proc_dir / "diskstats").write_text("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n")
    assert DiskStatsReader(proc_dir, sys_dir).read() == {
        "sda": DiskCounters(read_b=3 * 512, written_b=7 * 512, busy_ms=10)
    }


def test_disk_set_is_resolved_once(machine: tuple[Path, Path]) -> None:
    proc_dir, sys_dir = machine
    reader = DiskStatsReader(proc_dir, sys_dir)
    (sys_dir / "block" / "sda").unlink()
    assert set(reader.read()) == WHOLE
    assert set(DiskStatsReader(proc_dir, sys_dir).read()) == WHOLE - {"sda"}


def test_vanished_disk_is_absent(machine: tuple[Path, Path]) -> None:
    proc_dir, sys_dir = machine
    reader = DiskStatsReader(proc_dir, sys_dir)
    lines = [ln for ln in DISKSTATS.splitlines() if " sda " not in ln]
    (proc_dir / "diskstats").write_text("\n".join(lines) + "\n")
    assert set(reader.read()) == WHOLE - {"sda"}


def test_unreadable_diskstats_means_no_disks(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc_dir, sys_dir = machine
    reader = DiskStatsReader(proc_dir, sys_dir)

    def fail(*args: object) -> bytes:
        raise OSError(5, "Input/output error")

    # The reader keeps the file open (as procfs allows), so a mid-run failure is a failing read.
    monkeypatch.setattr(reader._file, "read_all", fail)
    assert reader.read() == {}  # mid-run: every storage sensor records a gap, nothing raises
    (proc_dir / "diskstats").unlink()
    assert dict(DiskStatsReader(proc_dir, sys_dir).disks) == {}  # at start: no storage sensors


def test_no_sysfs_means_no_disks(tmp_path: Path) -> None:
    reader = DiskStatsReader(tmp_path / "proc", tmp_path / "sys")  # neither exists
    assert dict(reader.disks) == {}
    assert reader.read() == {}


def test_read_disks_helper(machine: tuple[Path, Path]) -> None:
    assert read_disks(*machine) == DiskStatsReader(*machine).read()


_token = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(sorted(WHOLE)),
    st.text(max_size=12),
)
_garbage_line = st.one_of(
    st.text(max_size=80),
    st.lists(_token, max_size=24).map(" ".join),
)


# No deadline: each example writes a file and rescans a sysfs tree, slow on a busy machine.
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200, deadline=None
)
@given(garbage=st.lists(_garbage_line, max_size=10), data=st.data())
def test_garbage_lines_never_raise(
    machine: tuple[Path, Path], garbage: list[str], data: st.DataObject
) -> None:
    proc_dir, sys_dir = machine
    good = DISKSTATS.splitlines()
    lines = list(good)
    for line in garbage:
        lines.insert(data.draw(st.integers(min_value=0, max_value=len(lines))), line)
    (proc_dir / "diskstats").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = DiskStatsReader(proc_dir, sys_dir)
    disks = reader.read()
    assert set(disks) <= WHOLE
    for counters in disks.values():
        assert min(counters.read_b, counters.written_b, counters.busy_ms) >= 0
    if not any(name in line for line in garbage for name in WHOLE):
        # Garbage that cannot name a whole disk cannot change its counters.
        (proc_dir / "diskstats").write_text(DISKSTATS)
        assert disks == reader.read()
