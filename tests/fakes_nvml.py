"""A stand-in for the ``pynvml`` module (nvidia-ml-py) at its call boundary.

Driven by a :class:`~tests.fakes.FakeClock` and, per GPU, a "true power" function of time, so a
test knows the truth. NVML behaviours copied (NVML API Reference, docs.nvidia.com/deploy/nvml-api,
and nvidia-ml-py 13.x ``pynvml.py``):

- Errors: ``NVMLError(code)`` returns the subclass for the code (``NVMLError_NotSupported``,
  ``NVMLError_NoPermission``, ``NVMLError_GpuIsLost``, ``NVMLError_Unknown``...), with the same
  ``NVML_ERROR_*`` values and messages as pynvml's ``_extractNVMLErrorsAsClasses``.
- ``nvmlInit``/``nvmlShutdown``: reference counted ("Shutdown only occurs when the reference
  count reaches zero"); device calls before init raise Uninitialized. A machine without the
  driver raises LibraryNotFound (pynvml cannot ``CDLL("libnvidia-ml.so.1")``) or
  DriverNotLoaded from ``nvmlInit``.
- ``nvmlDeviceGetHandleByIndex``/``ByUUID`` (exact UUIDs, of a GPU or a MIG instance; an unknown
  one raises NotFound), ``nvmlDeviceGetUUID``/``GetName``/``GetIndex``, MIG parents through
  ``nvmlDeviceGetDeviceHandleFromMigDeviceHandle``; strings come back as ``str``.
- ``nvmlDeviceGetTotalEnergyConsumption``: mJ since the driver was loaded, an integer, refreshed
  every ``energy_period_s``; "For Volta or newer": older boards raise NotSupported. GH200
  (``module_extra_w`` set) counts the whole module, CPU and memory included (as Zeus found,
  ml-energy/zeus#172). ``reload_driver()`` restarts it from 0.
- ``nvmlDeviceGetPowerUsage``: mW, refreshed every ``update_period_s``; "On Ampere (except
  GA100) or newer GPUs, the API returns power averaged over 1 sec interval. On GA100 and older
  architectures, instantaneous power is returned." ``nvmlDeviceGetCudaComputeCapability`` tells
  them apart (GA100 is 8.0, other Ampere 8.6/8.7, Ada 8.9, Hopper 9.0).
- ``nvmlDeviceGetFieldValues(handle, [id or (id, scopeId)])``: one value per id, each with its own
  ``nvmlReturn``; ``NVML_FI_DEV_POWER_INSTANT`` on all boards, ``NVML_FI_DEV_POWER_AVERAGE`` on
  Ampere (except GA100)+, scope ``NVML_POWER_SCOPE_MODULE`` only on Grace superchips.
- ``nvmlDeviceGetComputeRunningProcesses``/``GraphicsRunningProcesses``: objects with ``pid``
  (host pids) and ``usedGpuMemory``.
- ``nvmlDeviceGetProcessUtilization(handle, lastSeenTimeStamp)``: one sample per process with
  non-zero utilisation in the last sample period, newer than the timestamp (CPU time in µs);
  none: NotFound; "For Maxwell or newer": older boards, or ``util_supported=False``, raise
  NotSupported.
- A GPU that falls off the bus (``lost_at_s``) raises GpuIsLost from every call on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tests.fakes import FakeClock

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_INSUFFICIENT_SIZE: "Insufficient Size",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """pynvml's base error: ``NVMLError(code)`` builds the subclass registered for the code."""

    _valClassMapping: dict[int, type[NVMLError]] = {}  # noqa: RUF012 - pynvml's own name
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


def _error_class(name: str, code: int) -> type[NVMLError]:
    def new(cls: type[NVMLError], *args: object) -> NVMLError:
        return NVMLError.__new__(cls, code)

    def init(self: NVMLError, *args: object) -> None:
        Exception.__init__(self, code)

    cls = type(name, (NVMLError,), {"__new__": new, "__init__": init})
    NVMLError._valClassMapping[code] = cls
    return cls


NVMLError_Uninitialized = _error_class("NVMLError_Uninitialized", NVML_ERROR_UNINITIALIZED)
NVMLError_InvalidArgument = _error_class("NVMLError_InvalidArgument", NVML_ERROR_INVALID_ARGUMENT)
NVMLError_NotSupported = _error_class("NVMLError_NotSupported", NVML_ERROR_NOT_SUPPORTED)
NVMLError_NoPermission = _error_class("NVMLError_NoPermission", NVML_ERROR_NO_PERMISSION)
NVMLError_NotFound = _error_class("NVMLError_NotFound", NVML_ERROR_NOT_FOUND)
NVMLError_DriverNotLoaded = _error_class("NVMLError_DriverNotLoaded", NVML_ERROR_DRIVER_NOT_LOADED)
NVMLError_LibraryNotFound = _error_class("NVMLError_LibraryNotFound", NVML_ERROR_LIBRARY_NOT_FOUND)
NVMLError_GpuIsLost = _error_class("NVMLError_GpuIsLost", NVML_ERROR_GPU_IS_LOST)
NVMLError_Unknown = _error_class("NVMLError_Unknown", NVML_ERROR_UNKNOWN)

ARCHS = ("kepler", "maxwell", "pascal", "volta", "turing", "ga100", "ampere", "hopper")
COMPUTE_CAPABILITY = {  # what nvmlDeviceGetCudaComputeCapability returns per architecture
    "kepler": (3, 7), "maxwell": (5, 2), "pascal": (6, 0), "volta": (7, 0), "turing": (7, 5),
    "ga100": (8, 0), "ampere": (8, 6), "hopper": (9, 0),
}  # fmt: skip


@dataclass
class FakeGpu:
    """One board. ``power_w(t_s)`` is the true power at monotonic time ``t_s``."""

    name: str = "NVIDIA A100-SXM4-80GB"
    uuid: str = "GPU-5e4ff12a-0c2b-4b8e-9d7e-1f1c2a3b4c5d"
    arch: str = "ga100"
    power_w: Callable[[float], float] = lambda t_s: 100.0
    update_period_s: float = 0.1  # how often the power reading is refreshed
    energy_period_s: float = 0.02  # how often the energy counter is refreshed
    power_limit_w: float = 400.0
    module_extra_w: float | None = None  # Grace CPU + LPDDR power on a GH200 module
    compute_pids: list[int] = field(default_factory=list)
    graphics_pids: list[int] = field(default_factory=list)
    sm_util: dict[int, int] = field(default_factory=dict)  # pid -> smUtil % (latest period)
    util_supported: bool = True
    util_period_s: float = 1 / 6
    gpu_util_pct: Callable[[float], int] = lambda t_s: 90  # nvmlDeviceGetUtilizationRates().gpu
    migs: list[str] = field(default_factory=list)
    counter: bool | None = None  # None: as the architecture says (Volta+); False: a vGPU, say
    instant_field: bool = True  # NVML_FI_DEV_POWER_INSTANT (drivers before R525 lack it)
    lost_at_s: float | None = None
    denied: set[str] = field(default_factory=set)  # functions that raise NoPermission
    failing: dict[str, int] = field(default_factory=dict)  # function -> error code to raise
    loaded_at_s: float = 0.0  # when the driver was (re)loaded: the energy counter's zero
    _energy_j: float = 0.0  # integral of the counter's power from loaded_at_s to _energy_t_s
    _energy_t_s: float = 0.0

    def total_power_w(self, t_s: float) -> float:
        return self.power_w(t_s) + (self.module_extra_w or 0.0)

    def energy_j(self, t_s: float) -> float:
        """Exact-enough energy since the driver loaded (Simpson's rule on 1 ms steps)."""
        if t_s < self._energy_t_s:
            raise ValueError("the fake's clock went backwards")
        t0 = self._energy_t_s
        steps = max(1, math.ceil((t_s - t0) / 1e-3))
        h = (t_s - t0) / steps
        f = self.total_power_w
        self._energy_j += sum(
            (f(t0 + k * h) + 4 * f(t0 + (k + 0.5) * h) + f(t0 + (k + 1) * h)) * h / 6
            for k in range(steps)
        )
        self._energy_t_s = t_s
        return self._energy_j


def _last_update(t_s: float, period_s: float) -> float:
    return math.floor(t_s / period_s + 1e-9) * period_s


class FakeNvml:
    """Pass as ``nvml=`` where wattprint would ``import pynvml``."""

    NVML_SUCCESS = NVML_SUCCESS
    NVML_ERROR_NOT_FOUND = NVML_ERROR_NOT_FOUND
    NVML_FI_DEV_POWER_AVERAGE = 185
    NVML_FI_DEV_POWER_INSTANT = 186
    NVML_POWER_SCOPE_GPU = 0
    NVML_POWER_SCOPE_MODULE = 1
    NVML_VALUE_TYPE_UNSIGNED_INT = 1
    NVMLError = NVMLError
    NVMLError_Uninitialized = NVMLError_Uninitialized
    NVMLError_InvalidArgument = NVMLError_InvalidArgument
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_NoPermission = NVMLError_NoPermission
    NVMLError_NotFound = NVMLError_NotFound
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVMLError_Unknown = NVMLError_Unknown

    def __init__(
        self,
        clock: FakeClock,
        gpus: list[FakeGpu],
        *,
        driver_version: str = "550.54.15",
        init_error: int | None = None,
    ) -> None:
        self.clock = clock
        self.gpus = gpus
        self.driver_version = driver_version
        self.init_error = init_error
        self.init_count = 0
        self.calls: list[str] = []
        for gpu in gpus:
            gpu.loaded_at_s = gpu._energy_t_s = clock()

    # -- test controls ---------------------------------------------------------------------
    def reload_driver(self, gpu: FakeGpu) -> None:
        """``rmmod nvidia; modprobe nvidia``: the energy counter starts again at 0."""
        gpu.loaded_at_s = gpu._energy_t_s = self.clock()
        gpu._energy_j = 0.0

    # -- helpers ---------------------------------------------------------------------------
    def _gpu(self, handle: Any, fn: str) -> FakeGpu:
        self.calls.append(fn)
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        gpu: FakeGpu = handle.gpu
        if gpu.lost_at_s is not None and self.clock() >= gpu.lost_at_s:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        if fn in gpu.denied:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)
        if fn in gpu.failing:
            raise NVMLError(gpu.failing[fn])
        return gpu

    def _power_mw(self, gpu: FakeGpu, *, average: bool, scope: int = 0) -> int:
        t_u = _last_update(self.clock(), gpu.update_period_s)
        module = scope == self.NVML_POWER_SCOPE_MODULE
        extra = (gpu.module_extra_w or 0.0) if module else 0.0
        if not average:
            return int((gpu.power_w(t_u) + extra) * 1000)
        n = 100  # the mean over the last second before the update
        mean = sum(gpu.power_w(t_u - 1 + (k + 0.5) / n) for k in range(n)) / n
        return int((mean + extra) * 1000)

    # -- initialisation and system ---------------------------------------------------------
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        self.init_count -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        return len(self.gpus)

    # -- handles ---------------------------------------------------------------------------
    def nvmlDeviceGetHandleByIndex(self, index: int) -> SimpleNamespace:
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return SimpleNamespace(gpu=self.gpus[index], mig=None)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> SimpleNamespace:
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        for gpu in self.gpus:
            if gpu.uuid == uuid:
                return SimpleNamespace(gpu=gpu, mig=None)
            if uuid in gpu.migs:
                return SimpleNamespace(gpu=gpu, mig=uuid)
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        gpu = self._gpu(handle, "nvmlDeviceGetUUID")
        return str(handle.mig or gpu.uuid)

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._gpu(handle, "nvmlDeviceGetName").name

    def nvmlDeviceGetIndex(self, handle: Any) -> int:
        return self.gpus.index(self._gpu(handle, "nvmlDeviceGetIndex"))

    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]:
        return COMPUTE_CAPABILITY[self._gpu(handle, "nvmlDeviceGetCudaComputeCapability").arch]

    def nvmlDeviceGetMinorNumber(self, handle: Any) -> int:
        """The N of /dev/nvidiaN (the fake numbers them like its indices)."""
        return self.gpus.index(self._gpu(handle, "nvmlDeviceGetMinorNumber"))

    def nvmlDeviceIsMigDeviceHandle(self, handle: Any) -> int:
        self._gpu(handle, "nvmlDeviceIsMigDeviceHandle")
        return int(handle.mig is not None)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, handle: Any) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle")
        if handle.mig is None:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return SimpleNamespace(gpu=gpu, mig=None)

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetMaxMigDeviceCount")
        if gpu.arch not in ("ga100", "hopper"):
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return 7 if gpu.migs else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetMigDeviceHandleByIndex")
        if not 0 <= index < len(gpu.migs):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return SimpleNamespace(gpu=gpu, mig=gpu.migs[index])

    # -- power and energy ------------------------------------------------------------------
    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return int(self._gpu(handle, "nvmlDeviceGetEnforcedPowerLimit").power_limit_w * 1000)

    def nvmlDeviceGetPowerManagementLimit(self, handle: Any) -> int:
        return int(self._gpu(handle, "nvmlDeviceGetPowerManagementLimit").power_limit_w * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetTotalEnergyConsumption")
        volta_plus = ARCHS.index(gpu.arch) >= ARCHS.index("volta")
        if not (volta_plus if gpu.counter is None else gpu.counter):
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        t_u = max(gpu._energy_t_s, _last_update(self.clock(), gpu.energy_period_s))
        return int(gpu.energy_j(t_u) * 1000)

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> SimpleNamespace:
        """Percent of the last sample period in which a kernel ran (nvmlUtilization_t)."""
        gpu = self._gpu(handle, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=int(gpu.gpu_util_pct(self.clock())), memory=0)

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetPowerUsage")
        return self._power_mw(gpu, average=ARCHS.index(gpu.arch) > ARCHS.index("ga100"))

    def nvmlDeviceGetFieldValues(self, handle: Any, field_ids: list[Any]) -> list[Any]:
        gpu = self._gpu(handle, "nvmlDeviceGetFieldValues")
        values = []
        for item in field_ids:
            fid, scope = item if isinstance(item, tuple) else (item, 0)
            ret, mw = NVML_SUCCESS, 0
            average = fid == self.NVML_FI_DEV_POWER_AVERAGE
            if (
                fid not in (self.NVML_FI_DEV_POWER_AVERAGE, self.NVML_FI_DEV_POWER_INSTANT)
                or not gpu.instant_field  # an older driver: no power fields at all
                or (average and ARCHS.index(gpu.arch) <= ARCHS.index("ga100"))
                or (scope == self.NVML_POWER_SCOPE_MODULE and gpu.module_extra_w is None)
            ):
                ret = NVML_ERROR_NOT_SUPPORTED
            else:
                mw = self._power_mw(gpu, average=average, scope=scope)
            values.append(
                SimpleNamespace(
                    fieldId=fid,
                    scopeId=scope,
                    timestamp=int(self.clock() * 1e6),
                    latencyUsec=0,
                    valueType=self.NVML_VALUE_TYPE_UNSIGNED_INT,
                    nvmlReturn=ret,
                    value=SimpleNamespace(uiVal=mw, ullVal=mw, dVal=float(mw)),
                )
            )
        return values

    # -- processes -------------------------------------------------------------------------
    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[Any]:
        gpu = self._gpu(handle, "nvmlDeviceGetComputeRunningProcesses")
        return [SimpleNamespace(pid=p, usedGpuMemory=1 << 30) for p in gpu.compute_pids]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: Any) -> list[Any]:
        gpu = self._gpu(handle, "nvmlDeviceGetGraphicsRunningProcesses")
        return [SimpleNamespace(pid=p, usedGpuMemory=1 << 28) for p in gpu.graphics_pids]

    def nvmlDeviceGetProcessUtilization(self, handle: Any, timeStamp: int) -> list[Any]:
        gpu = self._gpu(handle, "nvmlDeviceGetProcessUtilization")
        if not gpu.util_supported or ARCHS.index(gpu.arch) < ARCHS.index("maxwell"):
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        sample_us = int(_last_update(self.clock(), gpu.util_period_s) * 1e6)
        samples = [
            SimpleNamespace(pid=pid, timeStamp=sample_us, smUtil=u, memUtil=0, encUtil=0, decUtil=0)
            for pid, u in gpu.sm_util.items()
            if u > 0 and sample_us > timeStamp
        ]
        if not samples:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return samples


def sine_load(base_w: float, swing_w: float, period_s: float) -> Callable[[float], float]:
    """A varying load: ``base ± swing``; its exact integral is :func:`sine_energy_j`."""
    return lambda t_s: base_w + swing_w * math.sin(2 * math.pi * t_s / period_s)


def sine_energy_j(
    base_w: float, swing_w: float, period_s: float, t0_s: float, t1_s: float
) -> float:
    w = 2 * math.pi / period_s
    return base_w * (t1_s - t0_s) + swing_w / w * (math.cos(w * t0_s) - math.cos(w * t1_s))
