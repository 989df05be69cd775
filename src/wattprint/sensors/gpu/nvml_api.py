"""The NVML call boundary (``pynvml``, from ``nvidia-ml-py``): the session, typed errors, and
the readings wattprint uses. ``amdsmi_api.py`` is its AMD twin; ``nvidia.py`` builds on it.

Names and codes from the NVML API Reference and nvidia-ml-py's ``pynvml.py``:

- ``nvmlInit``/``nvmlShutdown`` are reference counted ("Shutdown only occurs when the reference
  count reaches zero"): :class:`NvmlSession` pairs one init with one shutdown per discovery;
- errors are ``NVMLError``s; ``NVMLError(code)`` returns the subclass for the code
  (``NVMLError_GpuIsLost``, ``NVMLError_NoPermission``, ``NVMLError_NotSupported``...), which
  :func:`is_error` tests by name, so an older pynvml without a class never breaks a check;
- ``nvmlDeviceGetFieldValues(h, [(field_id, scope)])``: one value per field with its own
  ``nvmlReturn`` and a ``valueType`` that says which union member holds it.

Typed errors (:func:`typed_error`): GpuIsLost -> GpuLostError, NoPermission ->
SensorPermissionError, anything else -> SensorError; the meter makes each a gap.

Importing this module never imports ``pynvml``; :func:`import_pynvml` does.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import Any

from wattprint.errors import GpuLostError, SensorError, SensorPermissionError

FI_POWER_INSTANT, SCOPE_GPU, SCOPE_MODULE = 186, 0, 1  # pynvml's values, for old bindings
_VALUE_FIELDS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")


def import_pynvml() -> Any:
    """The real module; raises ImportError where nvidia-ml-py is not installed."""
    return importlib.import_module("pynvml")


class NvmlSession:
    """NVML initialisation shared by the sensors of one discovery: one ``nvmlInit`` for the
    first holder, one ``nvmlShutdown`` once the last has released it."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self._holders = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._holders == 0:
                self.module.nvmlInit()
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                with contextlib.suppress(self.module.NVMLError):  # best effort, at the end
                    self.module.nvmlShutdown()


def is_error(exc: BaseException, nv: Any, name: str) -> bool:
    """Whether ``exc`` is pynvml's ``name`` error (False where this pynvml lacks the class)."""
    cls = getattr(nv, name, None)
    return isinstance(cls, type) and isinstance(exc, cls)


def init_reason(nv: Any, exc: Exception) -> str:
    """Why NVML could not start, for the user (a reason, not an error)."""
    if is_error(exc, nv, "NVMLError_LibraryNotFound"):
        return "NVML could not load libnvidia-ml (no NVIDIA driver)"
    if is_error(exc, nv, "NVMLError_DriverNotLoaded"):
        return "the NVIDIA driver is not loaded (NVML: Driver Not Loaded)"
    if is_error(exc, nv, "NVMLError_NoPermission"):
        return "NVML may not talk to the NVIDIA driver (insufficient permissions)"
    return f"NVML could not start ({exc})"


def typed_error(nv: Any, exc: Exception, label: str, what: str) -> SensorError:
    """The typed error for an NVMLError raised while reading ``what`` from GPU ``label``."""
    if is_error(exc, nv, "NVMLError_GpuIsLost"):
        return GpuLostError(
            f"{label} is lost (NVML: GPU is lost, it fell off the bus); its energy is "
            "not counted from now on: check `nvidia-smi` and the kernel log for Xid errors"
        )
    if is_error(exc, nv, "NVMLError_NoPermission"):
        return SensorPermissionError(
            f"{label}: NVML denied {what} (insufficient permissions); run as a user "
            "allowed to query the GPU"
        )
    return SensorError(f"{label}: NVML could not read {what} ({exc}); retrying next read")


def text(nv: Any, function: str, *args: Any) -> str | None:
    """An optional fact as text; None when this NVML lacks the function or cannot answer."""
    try:
        value = getattr(nv, function)(*args)
    except Exception:  # noqa: BLE001 - optional facts: absent is fine
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def field_mw(nv: Any, handle: Any, field_id: int, scope: int) -> float:
    """One power field (mW) from ``nvmlDeviceGetFieldValues``; raises the field's NVMLError."""
    value = nv.nvmlDeviceGetFieldValues(handle, [(field_id, scope)])[0]
    if value.nvmlReturn != 0:
        raise nv.NVMLError(value.nvmlReturn)
    return float(getattr(value.value, _VALUE_FIELDS[value.valueType]))


def _instant_field(nv: Any, handle: Any, scope: int) -> bool:
    """Whether ``NVML_FI_DEV_POWER_INSTANT`` answers at ``scope`` (old bindings: no)."""
    field_id = getattr(nv, "NVML_FI_DEV_POWER_INSTANT", FI_POWER_INSTANT)
    try:
        field_mw(nv, handle, field_id, scope)
    except (nv.NVMLError, IndexError, AttributeError, TypeError):  # old bindings: no scopes
        return False
    return True


def has_instant_power(nv: Any, handle: Any) -> bool:
    """Whether the GPU-scope ``NVML_FI_DEV_POWER_INSTANT`` field answers on this board."""
    return _instant_field(nv, handle, SCOPE_GPU)


def module_scope(nv: Any, handle: Any) -> bool:
    """Whether power answers at ``NVML_POWER_SCOPE_MODULE`` (a Grace superchip)."""
    return _instant_field(nv, handle, getattr(nv, "NVML_POWER_SCOPE_MODULE", SCOPE_MODULE))


def power_mw(nv: Any, handle: Any, instant: bool) -> float:
    """GPU-scope power now (mW): ``NVML_FI_DEV_POWER_INSTANT`` when ``instant``, else
    ``nvmlDeviceGetPowerUsage``. Raises NVMLError."""
    if instant:
        field_id = getattr(nv, "NVML_FI_DEV_POWER_INSTANT", FI_POWER_INSTANT)
        return field_mw(nv, handle, field_id, SCOPE_GPU)
    return float(nv.nvmlDeviceGetPowerUsage(handle))


def power_usage_averaged(nv: Any, handle: Any) -> bool | None:
    """Whether ``nvmlDeviceGetPowerUsage`` is a 1 s average: "on Ampere (except GA100) or
    newer", i.e. compute capability above 8.0 (GA100); None when the driver cannot say."""
    try:
        cc_major, cc_minor = nv.nvmlDeviceGetCudaComputeCapability(handle)
        return (int(cc_major), int(cc_minor)) > (8, 0)
    except (nv.NVMLError, AttributeError, TypeError, ValueError):
        return None


def mig_uuids(nv: Any, handle: Any) -> tuple[str, ...]:
    """UUIDs of a GPU's MIG instances; () when it has none or NVML cannot say."""
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


def running_pids(nv: Any, handle: Any) -> set[int]:
    """The pids of the GPU's compute and graphics processes (host pids in a container).
    Raises NVMLError; a board without a graphics list (compute-only) is fine."""
    on = {p.pid for p in nv.nvmlDeviceGetComputeRunningProcesses(handle)}
    try:
        on |= {p.pid for p in nv.nvmlDeviceGetGraphicsRunningProcesses(handle)}
    except nv.NVMLError as exc:
        if not is_error(exc, nv, "NVMLError_NotSupported"):
            raise
    return on


def process_samples(nv: Any, handle: Any, since_us: int) -> list[Any] | None:
    """Per-process utilisation samples newer than ``since_us``; None when there is none in
    the interval (NotFound, or pynvml's ``NVMLError(0)`` for an empty buffer). Raises
    NVMLError when the GPU cannot give them (pre-Maxwell, no permission...)."""
    try:
        return list(nv.nvmlDeviceGetProcessUtilization(handle, since_us))
    except nv.NVMLError as exc:
        if is_error(exc, nv, "NVMLError_NotFound") or getattr(exc, "value", None) == 0:
            return None
        raise
