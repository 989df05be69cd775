"""Which GPUs a job uses, and its share of each.

Selection: ``CUDA_VISIBLE_DEVICES`` read the way CUDA reads it, then ``gpu_ids``; pure
functions over an inventory of NVML devices, so every form is tested without hardware. The
rules copy CUDA's (CUDA C Programming Guide, "CUDA Environment Variables"; the MPS guide,
"CUDA_VISIBLE_DEVICES") as PyTorch re-implements them (``torch.cuda._parse_visible_devices``,
``_transform_uuid_to_ordinals``, ``_device_count_nvml``):

- unset: every device; set but empty: none;
- a comma list of indices, or of UUIDs ``GPU-...``, or of MIG UUIDs ``MIG-...``; the first entry
  decides which (an index list reads each entry like ``strtoul``: ``"1gpu2"`` is 1);
- a UUID may be abbreviated to any prefix (including ``GPU-``) that names one device;
- the first invalid entry (negative, out of range, unknown or ambiguous UUID, another kind)
  ends the list: only the entries before it are visible;
- a repeated device makes the whole list empty.

A MIG instance is reported as its parent GPU: NVML measures energy per physical GPU only.
Indices follow CUDA's order, NVML's follow the PCI bus: they agree when ``CUDA_DEVICE_ORDER`` is
``PCI_BUS_ID`` or all GPUs are the same model (CUDA's default "fastest first" then falls back to
bus order), which the caller checks.

Share (``scope="process"``): :func:`gpu_share` splits a GPU between the tracked tree and the
other processes the driver lists on it, by SM utilisation when known, else by process count.
In a container the driver lists *host* pids, which never match the tree's (``/proc`` shows
the container's PID namespace). When none of the GPU's pids exists in our ``/proc``, the GPU
has exactly one process and the tree holds the GPU's ``/dev/nvidiaN`` open, that process is
taken to be the tree's (1.0); with several, the share is unknown (None, so a gap) rather than
guessed; a tree without the device open gets 0.0, so a CPU-only job beside a GPU job in
another container is not billed for the GPU.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wattprint.errors import ConfigError

ENV_VISIBLE = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class GpuId:
    """One physical GPU as NVML enumerates it."""

    index: int  # NVML index (PCI bus order)
    uuid: str  # "GPU-..."
    migs: tuple[str, ...] = ()  # UUIDs of its MIG instances ("MIG-..."), when enumerated


@dataclass(frozen=True)
class Pick:
    gpu: GpuId
    cuda_index: int | None  # position among the devices CUDA sees; None: outside them
    via_mig: tuple[str, ...] = ()  # MIG instances named for it (energy is the whole GPU's)


@dataclass(frozen=True)
class Selection:
    picks: tuple[Pick, ...]
    notes: tuple[str, ...] = ()  # entries that were dropped, and why


def _strtoul(entry: str) -> int:
    """The integer an entry starts with, as C's strtoul reads it; -1 when none."""
    s = entry.lstrip(" \t\n\v\f\r")  # C's isspace, not Unicode's
    end = 1 if s[:1] in ("+", "-") else 0
    while end < len(s) and s[end] in "0123456789":  # not str.isdigit: "²" is no digit to C
        end += 1
    digits = s[:end]
    return int(digits) if digits.lstrip("+-") else -1


def _by_prefix(prefix: str, names: Sequence[str]) -> int | None:
    """Position of the one name starting with ``prefix``; None when no name or several do."""
    found = [i for i, name in enumerate(names) if name.startswith(prefix)]
    return found[0] if len(found) == 1 else None


def _resolve(entry: str, gpus: Sequence[GpuId]) -> tuple[GpuId, str | None] | None:
    """The GPU a ``GPU-``/``MIG-`` entry names (and the MIG UUID, if one), or None."""
    if entry.startswith("MIG-GPU-"):  # pre-R470 form: MIG-<GPU-UUID>/<GI>/<CI>
        parent = entry[4:].split("/", 1)[0]
        i = _by_prefix(parent, [g.uuid for g in gpus])
        return None if i is None else (gpus[i], entry)
    if entry.startswith("MIG-"):
        owners = [(g, m) for g in gpus for m in g.migs]
        j = _by_prefix(entry, [m for _, m in owners])
        return None if j is None else owners[j]
    if entry.startswith("GPU-"):
        i = _by_prefix(entry, [g.uuid for g in gpus])
        return None if i is None else (gpus[i], None)
    return None


def visible_devices(value: str | None, gpus: Sequence[GpuId]) -> Selection:
    """The GPUs CUDA would use under ``CUDA_VISIBLE_DEVICES=value`` (None: unset)."""
    if value is None:
        return Selection(tuple(Pick(g, i) for i, g in enumerate(gpus)))
    if not value.strip():
        return Selection((), (f"{ENV_VISIBLE} is empty: CUDA sees no GPU",))
    prefix = "GPU-" if value.startswith("GPU-") else "MIG-" if value.startswith("MIG-") else ""
    empty = Selection((), (f"{ENV_VISIBLE}={value!r} names a GPU twice: CUDA sees no GPU",))
    # Pass 1, the syntax: an entry of another kind (or a negative index) ends the list.
    entries: list[str] = []
    for entry in value.split(","):
        token = entry if prefix else str(_strtoul(entry))
        if token in entries:
            return empty
        if not entry.startswith(prefix) if prefix else int(token) < 0:
            break
        entries.append(token)
    # Pass 2, against the devices: the first that names none ends the list.
    found: list[tuple[GpuId, str | None]] = []
    stop: str | None = None
    for token in entries:
        if prefix:
            hit = _resolve(token, gpus)
        else:
            hit = (gpus[int(token)], None) if int(token) < len(gpus) else None
        if hit is None:
            stop = token
            break
        ident = hit[1] or hit[0].uuid
        if any((m or g.uuid) == ident for g, m in found):
            return empty
        found.append(hit)
    if len(entries) < len(value.split(",")) and stop is None:
        stop = value.split(",")[len(entries)]
    picks = tuple(Pick(gpu, i, (mig,) if mig else ()) for i, (gpu, mig) in enumerate(found))
    notes: tuple[str, ...] = ()
    if stop is not None:
        notes = (
            f"{ENV_VISIBLE} entry {stop!r} names no GPU here (invalid index, unknown or "
            "ambiguous UUID): CUDA ignores it and every entry after it",
        )
    return Selection(picks, notes)


def apply_gpu_ids(
    selection: Selection, gpu_ids: Sequence[int | str], gpus: Sequence[GpuId]
) -> Selection:
    """Narrow a selection to ``gpu_ids``: indices among the visible GPUs (as ``torch`` numbers
    them), or UUIDs (``GPU-``/``MIG-``, prefixes allowed). Raises ConfigError."""
    visible = selection.picks
    picks: list[Pick] = []
    for raw in gpu_ids:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ConfigError(f"gpu_ids entry {raw!r} is not an index or a UUID; e.g. [0, 1]")
        text = str(raw).strip()
        if text.isascii() and text.isdigit():
            n = int(text)
            if n >= len(visible):
                raise ConfigError(
                    f"gpu_ids entry {raw!r}: only {len(visible)} GPU(s) are visible "
                    f"(after {ENV_VISIBLE}); use 0..{len(visible) - 1} or a UUID"
                )
            pick = visible[n]
        else:
            hit = _resolve(text, gpus)
            if hit is None:
                raise ConfigError(
                    f"gpu_ids entry {raw!r} names no single GPU here; give an index or a UUID "
                    "as `nvidia-smi -L` prints it (a unique prefix is enough)"
                )
            gpu, mig = hit
            cuda = next((p.cuda_index for p in visible if p.gpu == gpu), None)
            pick = Pick(gpu, cuda, (mig,) if mig else ())
        picks.append(pick)
    return Selection(tuple(picks), selection.notes)


def by_gpu(picks: Sequence[Pick]) -> list[Pick]:
    """One pick per physical GPU, in first-seen order: MIG instances of one GPU (and a GPU
    named twice in ``gpu_ids``) merge, since NVML measures energy per GPU."""
    merged: dict[str, Pick] = {}
    for pick in picks:
        old = merged.get(pick.gpu.uuid)
        if old is None:
            merged[pick.gpu.uuid] = pick
        else:
            migs = old.via_mig + tuple(m for m in pick.via_mig if m not in old.via_mig)
            merged[pick.gpu.uuid] = replace(old, via_mig=migs)
    return list(merged.values())


def gpu_share(
    on_gpu: Collection[int],
    tree: Collection[int],
    *,
    sm_util: Mapping[int, int] | None = None,
    foreign: Callable[[], bool] = lambda: False,
    holds_device: Callable[[], bool] = lambda: False,
) -> tuple[float | None, str]:
    """The tree's share (None: unknown) of one GPU over an interval, and how it was split.

    ``on_gpu``: the pids the driver lists on the GPU; ``sm_util``: SM utilisation per pid in
    the interval; ``foreign()``: none of ``on_gpu`` exists in this PID namespace;
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


def holds_device(proc_dir: Path, pids: Collection[int], minor: int | None) -> bool:
    """Whether a process in ``pids`` has ``/dev/nvidia<minor>`` (any GPU's when None) open."""
    wanted = re.compile("/dev/nvidia" + (str(minor) if minor is not None else r"\d+") + "$")
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
