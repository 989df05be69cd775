"""NVIDIA GPUs: which ones this job uses and how each can be read (NVML, ``nvidia-ml-py``).

``pynvml`` is imported on the first discovery, never by ``import wattprint``. Device selection
follows ``CUDA_VISIBLE_DEVICES`` and ``gpu_ids`` (``gpu_select``); each GPU is probed for the
energy counter (Volta+), else for a power reading whose update period is measured by polling
for at most 0.5 s (only on boards without the counter); the sensors are ``nvidia_sensor``'s.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wattprint.errors import GpuLostError
from wattprint.sensors.base import Sensor
from wattprint.sensors.gpu.nvidia_sensor import (
    FI_POWER_INSTANT,
    SCOPE_GPU,
    GpuFacts,
    NvidiaSensor,
    NvmlSession,
    field_mw,
    is_error,
)
from wattprint.sensors.gpu.select import ENV_VISIBLE, GpuId, apply_gpu_ids, by_gpu, visible_devices

__all__ = [
    "NOT_INSTALLED",
    "GpuLostError",
    "NvidiaSensor",
    "detect_update_period_s",
    "discover_nvidia",
]

NOT_INSTALLED = "nvidia-ml-py not installed (pip install 'wattprint[nvidia]')"
DETECT_BUDGET_S = 0.5
MIN_PERIOD_S = 0.02
Timing = tuple[Callable[[], float], Callable[[float], None]]  # (clock, sleep)


def _supported(nv: Any, handle: Any, field_id: int, scope: int) -> bool:
    try:
        field_mw(nv, handle, field_id, scope)
    except (nv.NVMLError, IndexError, AttributeError, TypeError):  # old bindings: no scopes
        return False
    return True


def detect_update_period_s(
    read: Callable[[], float],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    *,
    budget_s: float = DETECT_BUDGET_S,
    poll_s: float = 0.005,
) -> float | None:
    """How often a reading changes: the shortest time between two changes seen while polling
    for ``budget_s``; None when it changed fewer than twice (steady load or slow updates)."""
    start = clock()
    last, changes = read(), []
    while clock() - start < budget_s:
        sleep(poll_s)
        value = read()
        if value != last:
            changes.append(clock())
            last = value
    gaps = [b - a for a, b in itertools.pairwise(changes)]
    return max(MIN_PERIOD_S, round(min(gaps), 4)) if gaps else None


def _init_reason(nv: Any, exc: Exception) -> str:
    if is_error(exc, nv, "NVMLError_LibraryNotFound"):
        return "NVML could not load libnvidia-ml (no NVIDIA driver)"
    if is_error(exc, nv, "NVMLError_DriverNotLoaded"):
        return "the NVIDIA driver is not loaded (NVML: Driver Not Loaded)"
    if is_error(exc, nv, "NVMLError_NoPermission"):
        return "NVML may not talk to the NVIDIA driver (insufficient permissions)"
    return f"NVML could not start ({exc})"


def discover_nvidia(
    *,
    gpu_ids: Sequence[int | str] | None = None,
    environ: Mapping[str, str] | None = None,
    nvml: Any = None,
    proc_dir: Path = Path("/proc"),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Sensor], list[str]]:
    """Sensors for the NVIDIA GPUs this job uses, and why others (or all) are not measured.

    ``gpu_ids``: indices among the GPUs visible under ``CUDA_VISIBLE_DEVICES``, or UUIDs;
    ``nvml``: a stand-in for the ``pynvml`` module (tests); ``clock``/``sleep``: for detecting
    the power update period. Raises ConfigError for bad ``gpu_ids``; hardware problems are
    reasons instead.
    """
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[no-redef]  # lazily: where a driver is
        except ImportError:
            return [], [NOT_INSTALLED]
    env = os.environ if environ is None else environ
    session = NvmlSession(nvml)
    try:
        session.acquire()
    except nvml.NVMLError as exc:
        return [], [_init_reason(nvml, exc)]
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except nvml.NVMLError as exc:
        session.release()  # initialised: shut NVML down again
        return [], [_init_reason(nvml, exc)]
    try:  # the sensors hold NVML open until they are closed
        return _discover(session, count, gpu_ids, env, proc_dir, (clock, sleep))
    finally:
        session.release()


def _discover(
    session: NvmlSession,
    count: int,
    gpu_ids: Sequence[int | str] | None,
    env: Mapping[str, str],
    proc_dir: Path,
    timing: Timing,
) -> tuple[list[Sensor], list[str]]:
    nv, value = session.module, env.get(ENV_VISIBLE)
    if count == 0:
        return [], ["no NVIDIA GPUs"]
    want_mig = "MIG-" in (value or "") or any("MIG-" in str(g) for g in gpu_ids or ())
    gpus, handles, reasons = [], [], []
    for i in range(count):
        try:
            handle = nv.nvmlDeviceGetHandleByIndex(i)
            gpus.append(GpuId(i, str(nv.nvmlDeviceGetUUID(handle)), _migs(nv, handle, want_mig)))
            handles.append(handle)
        except nv.NVMLError as exc:
            reasons.append(f"GPU {i}: NVML cannot open it ({exc})")
            gpus.append(GpuId(i, ""))  # keeps CUDA's indices in line; matches no UUID
            handles.append(None)
    selection = visible_devices(value, gpus)
    if gpu_ids is not None:
        selection = apply_gpu_ids(selection, gpu_ids, gpus)
    reasons.extend(selection.notes)
    picks = [p for p in by_gpu(selection.picks) if handles[p.gpu.index] is not None]
    if not picks and not reasons:
        reasons.append("no NVIDIA GPU selected (gpu_ids is empty)")
    names = [_text(nv, "nvmlDeviceGetName", h) if h is not None else None for h in handles]
    notes: tuple[str, ...] = ()
    by_index = value is not None and not value.startswith(("GPU-", "MIG-"))
    if by_index and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" and len(set(names) - {None}) > 1:
        notes = (
            f"{ENV_VISIBLE} indices follow CUDA's fastest-first order and NVML's the PCI bus: "
            "with mixed GPU models they may differ; set CUDA_DEVICE_ORDER=PCI_BUS_ID or use UUIDs",
        )
    driver = _text(nv, "nvmlSystemGetDriverVersion")
    sensors: list[Sensor] = []
    for pick in picks:
        handle, name = handles[pick.gpu.index], names[pick.gpu.index] or "NVIDIA GPU"
        try:
            facts = _probe(nv, handle, GpuFacts(pick, name, driver, notes=notes), timing)
        except nv.NVMLError as exc:
            reasons.append(f"GPU {pick.gpu.index}: NVML cannot read energy or power ({exc})")
            continue
        sensors.append(NvidiaSensor(session, handle, facts, proc_dir))
    return sensors, reasons


def _text(nv: Any, function: str, *args: Any) -> str | None:
    """An optional fact as text; None when this NVML lacks the function or cannot answer."""
    try:
        value = getattr(nv, function)(*args)
    except Exception:  # noqa: BLE001 - optional facts: absent is fine
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _migs(nv: Any, handle: Any, wanted: bool) -> tuple[str, ...]:
    """UUIDs of a GPU's MIG instances (only looked up when a MIG UUID is asked for)."""
    if not wanted:
        return ()
    found: list[str] = []
    try:
        slots = int(nv.nvmlDeviceGetMaxMigDeviceCount(handle))
    except nv.NVMLError:
        return ()
    for k in range(slots):
        with contextlib.suppress(nv.NVMLError):  # empty slots raise NotFound
            found.append(
                str(nv.nvmlDeviceGetUUID(nv.nvmlDeviceGetMigDeviceHandleByIndex(handle, k)))
            )
    return tuple(found)


def _probe(nv: Any, handle: Any, facts: GpuFacts, timing: Timing) -> GpuFacts:
    """How to read one GPU. Raises NVMLError when neither energy nor power can be read."""
    limit_mw = _text(nv, "nvmlDeviceGetEnforcedPowerLimit", handle)
    minor = _text(nv, "nvmlDeviceGetMinorNumber", handle)
    instant = getattr(nv, "NVML_FI_DEV_POWER_INSTANT", FI_POWER_INSTANT)
    facts = replace(
        facts,
        power_limit_w=float(limit_mw) / 1000 if limit_mw else None,
        module=_supported(nv, handle, instant, getattr(nv, "NVML_POWER_SCOPE_MODULE", 1)),
        minor=int(minor) if minor and minor.isdigit() else None,
    )
    try:
        nv.nvmlDeviceGetTotalEnergyConsumption(handle)
        return facts
    except nv.NVMLError as exc:
        if not is_error(exc, nv, "NVMLError_NotSupported"):
            raise
    field = _supported(nv, handle, instant, SCOPE_GPU)
    # nvmlDeviceGetPowerUsage is a 1 s average "on Ampere (except GA100) or newer": compute
    # capability above 8.0 (GA100); unknown when the driver cannot say.
    averaged: bool | None = False
    if not field:
        try:
            cc_major, cc_minor = nv.nvmlDeviceGetCudaComputeCapability(handle)
            averaged = (int(cc_major), int(cc_minor)) > (8, 0)
        except (nv.NVMLError, AttributeError, TypeError, ValueError):
            averaged = None

    def read_mw() -> float:
        if field:
            return field_mw(nv, handle, instant, SCOPE_GPU)
        return float(nv.nvmlDeviceGetPowerUsage(handle))

    read_mw()  # raises when power cannot be read either
    return replace(
        facts,
        counter=False,
        module=False,  # the GPU-scope reading: no Grace CPU in it
        instant_field=field,
        averaged=averaged,
        update_period_s=detect_update_period_s(read_mw, *timing),
    )
