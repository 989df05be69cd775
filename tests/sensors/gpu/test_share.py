"""A job's share of a GPU, and the /proc checks behind it (shared by NVIDIA and AMD)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.sensors.gpu.share import (
    AMD_RENDER_NODE,
    NVIDIA_DEVICE,
    gpu_share,
    holds_device,
    other_namespace,
)


def test_share_own_other_shared_and_idle() -> None:
    assert gpu_share([], [10]) == (0.0, "no process on the GPU")
    assert gpu_share([10, 11], [10, 11, 12]) == (1.0, "only this job's processes")
    assert gpu_share([99], [10]) == (0.0, "other processes only")
    assert gpu_share([10, 99], [10], sm_util={10: 60, 99: 20}) == (0.75, "SM utilisation")
    assert gpu_share([10, 11, 99], [10, 11]) == (pytest.approx(2 / 3), "process count")
    assert gpu_share([10, 99], [10], sm_util={10: 0, 99: 0}) == (0.5, "process count")


def test_share_in_another_pid_namespace() -> None:
    yes, no = (lambda: True), (lambda: False)
    share, how = gpu_share([4242], [7], foreign=yes, holds_device=yes)
    assert share == 1.0 and how.startswith("PID namespace")
    assert gpu_share([4242], [7], foreign=yes, holds_device=no)[0] == 0.0  # a CPU-only job
    assert gpu_share([4242], [7], foreign=no, holds_device=yes)[0] == 0.0  # visible: not ours
    assert gpu_share([4242, 4243], [7], foreign=yes, holds_device=yes)[0] is None  # unknown


@given(
    st.sets(st.integers(1, 50), max_size=6),
    st.sets(st.integers(1, 50), max_size=6),
    st.dictionaries(st.integers(1, 50), st.integers(0, 100), max_size=6),
)
def test_share_is_a_fraction(on: set[int], tree: set[int], util: dict[int, int]) -> None:
    share, _ = gpu_share(on, tree, sm_util=util)
    assert share is not None and 0.0 <= share <= 1.0
    if not on & tree:
        assert share == 0.0
    elif on <= tree:
        assert share == 1.0


def fake_proc(root: Path, pid: int, *links: str) -> Path:
    """A /proc in which ``pid`` has these files open (fd 3, 4, ...)."""
    fd = root / str(pid) / "fd"
    fd.mkdir(parents=True)
    for n, target in enumerate(links, start=3):
        os.symlink(target, fd / str(n))
    return root


def test_holds_device_nvidia(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 7, "/dev/nvidiactl", "/dev/nvidia2")
    assert holds_device(proc, [7, 8], NVIDIA_DEVICE, 2)
    assert not holds_device(proc, [7], NVIDIA_DEVICE, 0)
    assert not holds_device(proc, [7], NVIDIA_DEVICE, 20)  # the whole number, not a prefix
    assert holds_device(proc, [7], NVIDIA_DEVICE, None)  # any GPU
    control = fake_proc(tmp_path, 9, "/dev/nvidiactl", "/dev/nvidia-uvm")
    assert not holds_device(control, [9], NVIDIA_DEVICE, None)  # control files are no GPU
    assert not holds_device(proc, [8], NVIDIA_DEVICE, None)  # no such pid


def test_holds_device_amd_render_node(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 7, "/dev/kfd", "/dev/dri/renderD129", "/dev/dri/card1")
    assert holds_device(proc, [7], AMD_RENDER_NODE, 129)
    assert not holds_device(proc, [7], AMD_RENDER_NODE, 128)
    assert holds_device(proc, [7], AMD_RENDER_NODE, None)
    assert not holds_device(proc, [7], NVIDIA_DEVICE, None)  # the device names do not mix


def test_holds_device_skips_fds_it_cannot_read(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 7, "/dev/nvidia0")
    (proc / "7" / "fd" / "0").mkdir()  # not a link: readlink fails, the next fd still counts
    assert holds_device(proc, [7], NVIDIA_DEVICE, 0)


def test_other_namespace(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    assert other_namespace(tmp_path, [987_654, 987_655])
    assert not other_namespace(tmp_path, [987_654, 7])
    assert other_namespace(tmp_path, [])
