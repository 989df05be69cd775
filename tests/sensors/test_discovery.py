from __future__ import annotations

import os
from pathlib import Path

from tests.fakes import FakeProc
from wattprint.sensors.base import Component
from wattprint.sensors.discovery import HardwareOptions, discover


def test_no_disks_and_no_rapl_leave_no_open_files(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    (proc.root / "diskstats").write_text("   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0\n")
    opts = HardwareOptions(
        powercap_dir=tmp_path / "none", proc_dir=proc.root, sys_dir=tmp_path / "sys"
    )
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        found = discover(opts)
        assert found.disk_reader is None
        assert [u.component for u in found.unavailable][:1] == [Component.CPU]
    assert len(os.listdir("/proc/self/fd")) == fds_before


def test_every_component_has_a_sensor_or_a_reason(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    found = discover(
        HardwareOptions(
            powercap_dir=tmp_path / "none", proc_dir=proc.root, sys_dir=tmp_path / "sys"
        )
    )
    have = {s.info.component for s in found.sensors} | {u.component for u in found.unavailable}
    assert have == {Component.CPU, Component.RAM, Component.STORAGE, Component.GPU}
    assert found.sensors[0].info.details["matched_name"] == "Intel Xeon Gold 6248"
