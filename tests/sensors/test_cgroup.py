"""read_cgroup_cpu and cpu_capacity against cgroup trees laid out like the kernel's.

The layouts copy Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/ (cpu, cpuacct):

- ``/proc/<pid>/cgroup`` has one ``hierarchy-ID:controller-list:path`` line per hierarchy.
  cgroup v2 prints ``0::/<path>``; v1 prints e.g. ``4:cpu,cpuacct:/<path>``. Inside a container
  with its own cgroup namespace the path is ``/``.
- v2: the unified hierarchy is mounted at ``/sys/fs/cgroup``; a cgroup is a directory, its
  children sub-directories. ``cpu.max`` is ``$MAX $PERIOD`` or ``max $PERIOD`` (absent in the
  root cgroup); ``cpu.stat`` starts with ``usage_usec``. A limit on an ancestor applies to
  every descendant.
- v1: each hierarchy is mounted at ``/sys/fs/cgroup/<controllers>`` (``cpu,cpuacct`` with the
  ``cpu`` and ``cpuacct`` symlinks to it on systemd machines, or ``cpu`` and ``cpuacct`` as two
  separate hierarchies on others); ``cpu.cfs_quota_us`` (``-1``: no limit),
  ``cpu.cfs_period_us`` and ``cpuacct.usage`` (ns). A container sees its own cgroup at the
  root of the mount while ``/proc/self/cgroup`` still names the host's path.
- hybrid (systemd's default before v2-only, and this repository's CI container): v1
  hierarchies for the controllers *and* the v2 hierarchy at ``/sys/fs/cgroup/unified`` with no
  controllers, so ``/proc/self/cgroup`` has both ``N:cpu...:`` lines and a ``0::`` line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes import FakeProc
from wattprint.sensors.cgroup import CgroupCpu, read_cgroup_cpu
from wattprint.sensors.usage import UsageProbe, cpu_capacity

CPU_STAT = "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"


def _proc(tmp_path: Path, cgroup_lines: str, pid: str = "self") -> Path:
    proc = tmp_path / "proc"
    (proc / pid).mkdir(parents=True)
    (proc / pid / "cgroup").write_text(cgroup_lines)
    return proc


def _v2_cgroup(root: Path, rel: str, cpu_max: str | None, cpu_stat: str | None = None) -> Path:
    d = root / rel
    d.mkdir(parents=True, exist_ok=True)
    if cpu_max is not None:
        (d / "cpu.max").write_text(cpu_max + "\n")
    if cpu_stat is not None:
        (d / "cpu.stat").write_text(cpu_stat)
    return d


def _v1_cgroup(mount: Path, rel: str, quota_us: int, period_us: int = 100_000) -> Path:
    d = mount / rel
    d.mkdir(parents=True, exist_ok=True)
    (d / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
    (d / "cpu.cfs_period_us").write_text(f"{period_us}\n")
    return d


def _systemd_v1_mounts(root: Path) -> Path:
    """``/sys/fs/cgroup/cpu,cpuacct`` plus the ``cpu`` and ``cpuacct`` symlinks to it."""
    mount = root / "cpu,cpuacct"
    mount.mkdir(parents=True)
    os.symlink("cpu,cpuacct", root / "cpu")
    os.symlink("cpu,cpuacct", root / "cpuacct")
    return mount


# -- cgroup v2 -------------------------------------------------------------------------------
def test_v2_unlimited(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    leaf = _v2_cgroup(root, "user.slice/app.scope", "max 100000", CPU_STAT)
    _v2_cgroup(root, "user.slice", "max 100000")
    proc = _proc(tmp_path, "0::/user.slice/app.scope\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg == CgroupCpu(None, leaf / "cpu.stat", 1e-6, 2)
    assert cg.usage_s() == pytest.approx(2.5)


def test_v2_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "system.slice/job.service", "200000 100000", CPU_STAT)
    proc = _proc(tmp_path, "0::/system.slice/job.service\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus == pytest.approx(2.0)
    assert cg.version == 2
    assert cg.usage_s() == pytest.approx(2.5)


def test_v2_limit_on_an_ancestor_applies(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "kubepods.slice", "50000 100000")
    _v2_cgroup(root, "kubepods.slice/pod1", "max 100000")
    _v2_cgroup(root, "kubepods.slice/pod1/ctr", "max 100000", CPU_STAT)
    proc = _proc(tmp_path, "0::/kubepods.slice/pod1/ctr\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("leaf", "parent", "grandparent", "expected"),
    [
        ("300000 100000", "150000 100000", "400000 100000", 1.5),
        ("100000 100000", "150000 100000", "400000 100000", 1.0),
        ("max 100000", "300000 100000", "50000 50000", 1.0),
    ],
)
def test_v2_smallest_limit_wins(
    tmp_path: Path, leaf: str, parent: str, grandparent: str, expected: float
) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "a", grandparent)
    _v2_cgroup(root, "a/b", parent)
    _v2_cgroup(root, "a/b/c", leaf, CPU_STAT)
    proc = _proc(tmp_path, "0::/a/b/c\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus == pytest.approx(expected)


def test_v2_container_namespace_sees_its_cgroup_at_the_root(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "", "150000 100000", CPU_STAT)
    proc = _proc(tmp_path, "0::/\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus == pytest.approx(1.5)
    assert cg.usage_file == root / "cpu.stat"


def test_v2_limits_outside_the_mount_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "sys" / "fs" / "cgroup"
    _v2_cgroup(root, "a", "max 100000", CPU_STAT)
    (tmp_path / "sys" / "fs" / "cpu.max").write_text("10000 100000\n")  # not a cgroup file
    proc = _proc(tmp_path, "0::/a\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus is None


def test_v2_reads_the_given_pid(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "mine", "max 100000", CPU_STAT)
    _v2_cgroup(root, "theirs", "300000 100000", CPU_STAT)
    proc = _proc(tmp_path, "0::/mine\n")
    (proc / "4242").mkdir()
    (proc / "4242" / "cgroup").write_text("0::/theirs\n")
    assert read_cgroup_cpu(4242, proc, root).quota_cpus == pytest.approx(3.0)
    assert read_cgroup_cpu(0, proc, root).quota_cpus is None


@pytest.mark.parametrize("cpu_max", ["", "garbage", "100000", "abc 100000", "100000 0"])
def test_v2_malformed_cpu_max_is_no_limit(tmp_path: Path, cpu_max: str) -> None:
    root = tmp_path / "cgroup"
    _v2_cgroup(root, "a", cpu_max, CPU_STAT)
    proc = _proc(tmp_path, "0::/a\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus is None


def test_v2_usage_unreadable(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    leaf = _v2_cgroup(root, "a", "100000 100000", "user_usec 5\n")  # no usage_usec line
    proc = _proc(tmp_path, "0::/a\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.usage_s() is None
    (leaf / "cpu.stat").unlink()
    assert cg.usage_s() is None
    assert read_cgroup_cpu(0, proc, root).usage_file is None


# -- cgroup v1 -------------------------------------------------------------------------------
def test_v1_no_limit(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    mount = _systemd_v1_mounts(root)
    leaf = _v1_cgroup(mount, "user.slice", -1)
    (leaf / "cpuacct.usage").write_text("1234567890\n")
    proc = _proc(tmp_path, "5:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n1:name=systemd:/\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus is None
    assert cg.version == 1
    assert cg.usage_s() == pytest.approx(1.23456789)


def test_v1_quota_and_usage_in_ns(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    mount = _systemd_v1_mounts(root)
    leaf = _v1_cgroup(mount, "docker/abc", 150_000, 100_000)
    (leaf / "cpuacct.usage").write_text("3000000000\n")
    proc = _proc(tmp_path, "4:cpu,cpuacct:/docker/abc\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus == pytest.approx(1.5)
    assert cg.usage_unit_s == 1e-9
    assert cg.usage_s() == pytest.approx(3.0)


def test_v1_container_sees_its_cgroup_at_the_mount_root(tmp_path: Path) -> None:
    """Docker without a cgroup namespace: the host path in /proc/self/cgroup does not exist
    under the container's mount, whose root *is* the container's cgroup."""
    root = tmp_path / "cgroup"
    mount = _systemd_v1_mounts(root)
    _v1_cgroup(mount, "", 250_000, 100_000)
    (mount / "cpuacct.usage").write_text("42\n")
    proc = _proc(tmp_path, "4:cpu,cpuacct:/docker/0123456789abcdef\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus == pytest.approx(2.5)
    assert cg.usage_s() == pytest.approx(42e-9)


def test_v1_separate_cpu_hierarchy_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v1_cgroup(root / "cpu", "batch", 50_000, 100_000)
    proc = _proc(tmp_path, "3:cpuacct:/batch\n2:cpu:/batch\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus == pytest.approx(0.5)


def test_v1_separate_cpuacct_hierarchy_usage(tmp_path: Path) -> None:
    """cpu and cpuacct mounted as two hierarchies: the usage is in the cpuacct one."""
    root = tmp_path / "cgroup"
    _v1_cgroup(root / "cpu", "batch", 50_000, 100_000)
    acct = root / "cpuacct" / "batch"
    acct.mkdir(parents=True)
    (acct / "cpuacct.usage").write_text("7000000000\n")
    proc = _proc(tmp_path, "3:cpuacct:/batch\n2:cpu:/batch\n")
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.usage_file == acct / "cpuacct.usage"
    assert cg.usage_s() == pytest.approx(7.0)


def test_v1_limit_on_an_ancestor_applies(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    mount = _systemd_v1_mounts(root)
    _v1_cgroup(mount, "user.slice", 100_000, 100_000)
    leaf = _v1_cgroup(mount, "user.slice/job.scope", -1)
    (leaf / "cpuacct.usage").write_text("0\n")
    proc = _proc(tmp_path, "4:cpu,cpuacct:/user.slice/job.scope\n")
    assert read_cgroup_cpu(0, proc, root).quota_cpus == pytest.approx(1.0)


def test_hybrid_host_reads_the_v1_cpu_controller(tmp_path: Path) -> None:
    """The layout of this repository's CI container (see the module docstring): the "0::" line
    names a v2 cgroup without controllers; the cpu quota is the v1 one."""
    root = tmp_path / "cgroup"
    mount = _systemd_v1_mounts(root)
    leaf = _v1_cgroup(mount, "docker/abc", 150_000, 100_000)
    (leaf / "cpuacct.usage").write_text("5000000000\n")
    (root / "unified" / "docker" / "abc").mkdir(parents=True)  # v2: no controllers, no cpu.max
    (root / "unified" / "docker" / "abc" / "cgroup.controllers").write_text("\n")
    proc = _proc(
        tmp_path,
        "9:name=systemd:/docker/abc\n4:cpu,cpuacct:/docker/abc\n"
        "3:memory:/docker/abc\n0::/docker/abc\n",
    )
    cg = read_cgroup_cpu(0, proc, root)
    assert cg.quota_cpus == pytest.approx(1.5)
    assert cg.usage_s() == pytest.approx(5.0)


# -- no cgroup -------------------------------------------------------------------------------
def test_no_cgroup_file(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    assert read_cgroup_cpu(0, tmp_path / "proc", tmp_path / "cgroup") == CgroupCpu(
        None, None, 0.0, 0
    )
    assert CgroupCpu(None, None, 0.0, 0).usage_s() is None


def test_no_cpu_controller(tmp_path: Path) -> None:
    proc = _proc(tmp_path, "4:memory:/x\n1:name=systemd:/x\nnot a cgroup line\n")
    assert read_cgroup_cpu(0, proc, tmp_path / "cgroup") == CgroupCpu(None, None, 0.0, 0)


# -- capacity --------------------------------------------------------------------------------
def test_capacity_without_quota_is_every_logical_cpu() -> None:
    assert cpu_capacity(8, None) == 8.0
    assert cpu_capacity(8, CgroupCpu(None, None, 0.0, 0)) == 8.0


def test_capacity_with_quota(tmp_path: Path) -> None:
    usage = tmp_path / "cpu.stat"
    usage.write_text(CPU_STAT)
    assert cpu_capacity(8, CgroupCpu(1.5, usage, 1e-6, 2)) == 1.5
    assert cpu_capacity(2, CgroupCpu(6.0, usage, 1e-6, 2)) == 2.0  # quota above the machine
    assert cpu_capacity(4, CgroupCpu(0.0001, usage, 1e-6, 2)) == 0.01  # floored, never 0


def test_capacity_with_quota_but_no_cgroup_usage_counter(fake_proc: FakeProc) -> None:
    """UsageProbe then falls back to proc/stat (the whole machine's busy time), whose capacity
    is every logical CPU, as cpu_capacity's docstring says."""
    cg = CgroupCpu(1.5, None, 1e-9, 1)
    fake_proc.run_for(1.0, busy_cpus=2.0)
    usage = UsageProbe(None, proc_dir=fake_proc.root, cgroup=cg).read(0.0)
    assert usage.machine_busy_cpu_s == pytest.approx(2.0)  # machine counter, not the cgroup's
    assert cpu_capacity(8, cg) == 8.0


def test_probe_reads_cgroup_usage_when_a_quota_applies(tmp_path: Path, fake_proc: FakeProc) -> None:
    usage_file = tmp_path / "cpu.stat"
    usage_file.write_text(CPU_STAT)
    fake_proc.run_for(10.0, busy_cpus=2.0)  # the machine: 20 s busy
    limited = UsageProbe(None, proc_dir=fake_proc.root, cgroup=CgroupCpu(1.0, usage_file, 1e-6, 2))
    unlimited = UsageProbe(
        None, proc_dir=fake_proc.root, cgroup=CgroupCpu(None, usage_file, 1e-6, 2)
    )
    assert limited.read(0.0).machine_busy_cpu_s == pytest.approx(2.5)
    assert unlimited.read(0.0).machine_busy_cpu_s == pytest.approx(20.0)
