"""Which GPUs a job sees: ``CUDA_VISIBLE_DEVICES`` (NVIDIA) and ``ROCR_``/``HIP_VISIBLE_DEVICES``
(AMD), read the way each runtime reads them; pure functions over an inventory of devices, so
every form is tested without hardware.

NVIDIA (:func:`visible_devices`, then :func:`apply_gpu_ids`). The rules copy CUDA's (CUDA C
Programming Guide, "CUDA Environment Variables"; the MPS guide, "CUDA_VISIBLE_DEVICES") as
PyTorch re-implements them (``torch.cuda._parse_visible_devices``,
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

AMD (:func:`rocm_visible_devices`; ROCm "GPU isolation techniques" page; pytorch
``torch.cuda._parse_visible_devices``; gpuopen "AMD lab notes: affinity part 2"):
``ROCR_VISIBLE_DEVICES`` (indices or UUIDs) filters first; ``HIP_VISIBLE_DEVICES`` (or
``CUDA_VISIBLE_DEVICES``, HIP's alias, when it is unset) then indexes into what remains,
renumbered from 0. An entry that names no GPU is skipped and reported; a repeated one counts
once. The two vendors' rules stay apart because they differ: CUDA's list ends at the first
invalid entry, and a repeat empties it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from wattprint.errors import ConfigError

ENV_VISIBLE = "CUDA_VISIBLE_DEVICES"
ENV_ROCR, ENV_HIP = "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"


# -- NVIDIA: CUDA_VISIBLE_DEVICES, then gpu_ids ---------------------------------------------
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


# -- AMD: ROCR_VISIBLE_DEVICES, then HIP_VISIBLE_DEVICES ------------------------------------
class RocmGpu(Protocol):
    """What the ROCm rules need of a GPU: its ROCr index and its normalised ids."""

    @property
    def physical(self) -> int: ...  # index in ROCr/HIP default order

    @property
    def ids(self) -> frozenset[str]: ...  # UUID forms, normalised by norm_id


G = TypeVar("G", bound=RocmGpu)


def norm_id(raw: object) -> str:
    """An AMD GPU id as compared: lower case, without ``GPU-``/``0x`` and dashes."""
    text = str(raw).strip().lower()
    for prefix in ("gpu-", "0x"):
        text = text.removeprefix(prefix)
    return text.replace("-", "")


def rocm_visible_devices(
    gpus: Sequence[G], environ: Mapping[str, str]
) -> tuple[list[G], list[str]]:
    """The GPUs the job can see, in its order, and why any listed entry was not used."""
    reasons: list[str] = []

    def pick(var: str, pool: Sequence[G]) -> list[G]:
        raw = environ.get(var)
        if raw is None:
            return list(pool)
        chosen: list[G] = []
        for token in (t.strip() for t in raw.split(",")):
            if not token:
                continue
            if token.isdigit():
                found = pool[int(token)] if int(token) < len(pool) else None
            else:
                found = next((g for g in pool if norm_id(token) in g.ids), None)
            if found is None:
                reasons.append(f"{var}={raw!r}: {token!r} names no GPU that amdsmi lists here")
            elif found not in chosen:
                chosen.append(found)
        if not chosen and not raw.strip():
            reasons.append(f"{var} is set but empty: no AMD GPU is visible to this job")
        return chosen

    after_rocr = pick(ENV_ROCR, sorted(gpus, key=lambda g: g.physical))
    hip_var = ENV_HIP if ENV_HIP in environ else ENV_VISIBLE
    return pick(hip_var, after_rocr), reasons
