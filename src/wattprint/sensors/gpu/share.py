"""A job's share of one GPU (``scope="process"``), the same rules for NVIDIA and AMD.

:func:`gpu_share` splits a GPU between the tracked process tree and the other processes the
driver lists on it: by per-process engine use when known (NVIDIA: SM utilisation; AMD: GFX
engine time), else by process count.

In a container the driver lists *host* pids, which never match the tree's (``/proc`` shows
the container's PID namespace). When none of the GPU's pids exists in our ``/proc``
(:func:`other_namespace`), the GPU has exactly one process and the tree holds the GPU's device
file open (:func:`holds_device`: ``/dev/nvidiaN``, ``/dev/dri/renderDN``), that process is
taken to be the tree's (1.0); with several, the share is unknown (None, so a gap) rather than
guessed; a tree without the device open gets 0.0, so a CPU-only job beside a GPU job in
another container is not billed for the GPU.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

NVIDIA_DEVICE = "/dev/nvidia"  # /dev/nvidia<minor>; /dev/nvidiactl and -uvm are not GPUs
AMD_RENDER_NODE = "/dev/dri/renderD"  # /dev/dri/renderD<minor>, one per GPU


def gpu_share(
    on_gpu: Collection[int],
    tree: Collection[int],
    *,
    sm_util: Mapping[int, int] | None = None,
    foreign: Callable[[], bool] = lambda: False,
    holds_device: Callable[[], bool] = lambda: False,
) -> tuple[float | None, str]:
    """The tree's share (None: unknown) of one GPU over an interval, and how it was split.

    ``on_gpu``: the pids the driver lists on the GPU; ``sm_util``: engine use per pid in the
    interval (any unit); ``foreign()``: none of ``on_gpu`` exists in this PID namespace;
    ``holds_device()``: the tree has the GPU's device file open.
    """
    on, ours = set(on_gpu), set(on_gpu).intersection(tree)
    if not on:
        return 0.0, "no process on the GPU"
    if ours == on:
        return 1.0, "only this job's processes"
    if not ours:
        if not foreign() or not holds_device():
            return 0.0, "other processes only"
        if len(on) == 1:
            return 1.0, "PID namespace: the GPU's only process, with the device open here"
        return None, "unknown: several processes of another PID namespace"
    total = sum(sm_util.values()) if sm_util else 0
    if sm_util and total > 0:
        return sum(u for pid, u in sm_util.items() if pid in ours) / total, "SM utilisation"
    return len(ours) / len(on), "process count"


def other_namespace(proc_dir: Path, pids: Collection[int]) -> bool:
    """Whether none of ``pids`` (as the driver lists them) exists under ``proc_dir``."""
    return not any((proc_dir / str(pid)).exists() for pid in pids)


def holds_device(proc_dir: Path, pids: Collection[int], device: str, minor: int | None) -> bool:
    """Whether a process in ``pids`` has ``<device><minor>`` open (any minor when None), e.g.
    ``holds_device(proc, pids, NVIDIA_DEVICE, 2)`` for ``/dev/nvidia2``; read from the
    ``/proc/<pid>/fd`` links (a pid or fd that vanishes meanwhile is skipped)."""
    number = str(minor) if minor is not None else r"\d+"
    wanted = re.compile(re.escape(device) + number + "$")
    for pid in pids:
        fd_dir = proc_dir / str(pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if wanted.match(os.readlink(fd_dir / fd)):
                    return True
            except OSError:
                continue
    return False
