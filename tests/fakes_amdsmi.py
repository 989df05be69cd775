"""A stand-in for the ``amdsmi`` Python module at its call boundary.

What it copies (ROCm/amdsmi py-interface README and amdsmi_interface.py, ROCm 6.x-7.x):
- ``amdsmi_init()`` / ``amdsmi_shut_down()``; without a driver, init raises
  ``AmdSmiLibraryException`` (AMDSMI_STATUS_DRIVER_NOT_LOADED = 34);
- ``amdsmi_get_processor_handles()`` returns opaque handles; a call with anything else raises
  ``AmdSmiParameterException`` (a multi-line message, like the real one);
- ``amdsmi_get_energy_count(h)`` returns ``{"power", "energy_accumulator", "counter_resolution",
  "timestamp"}``: the uint64 accumulator counts energy in units of ``counter_resolution`` µJ
  (a float32, 15.3 on MI200/MI300: 15.300000190734863); before ROCm 6.4 only ``power`` carried
  the count (``legacy_keys=True``);
- ``amdsmi_get_power_info(h)`` returns integer watts in ``socket_power``/``current_socket_power``/
  ``average_socket_power`` (``"N/A"`` where a GPU does not report one), plus ``power_limit``;
  ``average_socket_power`` is the mean over the last second (MI200 and older);
- ``amdsmi_get_gpu_device_uuid``, ``amdsmi_get_gpu_asic_info`` (``market_name``, ``asic_serial``),
  ``amdsmi_get_gpu_enumeration_info`` (``hip_id``, ``hip_uuid``; ROCm >= 6.4 only);
- ``amdsmi_get_gpu_process_list(h)``: a list of dicts with ``pid``, ``mem``, ``engine_usage``
  (``gfx``, ``enc``: cumulative busy ns, from DRM fdinfo) and ``memory_usage`` (``vram_mem``...);
  before ROCm 6.1 (``process_api="handles"``) a list of handles for
  ``amdsmi_get_gpu_process_info(h, p)``;
- errors: ``AmdSmiLibraryException(err_code)`` with ``err_code``/``err_info``/
  ``get_error_code()``, codes from ``amdsmi_status_t``.

Faults seen in the field, selectable per GPU with ``counter_fault``: ``"stuck"`` (the counter
never moves: MI100 on ROCm 6.0.2, AMDResearch/hpcfund#21), ``"scaled"`` (counts 1000x too fast,
a wrong resolution), ``"backwards"`` (the value drops once: ROCm/amdsmi#115), ``"unsupported"``
(NOT_SUPPORTED, as in VM guests). ``fail`` makes the next calls of a function raise a code.

Time is the injected clock; power is the injected true-power function; energy is its exact
integral (Simpson's rule on 64 sub-intervals per advance, exact for cubic pieces).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STATUS_NOT_SUPPORTED = 2
STATUS_BUSY = 30
STATUS_IO = 12
STATUS_NO_PERM = 10
STATUS_DRIVER_NOT_LOADED = 34
_INFO = {
    2: "AMDSMI_STATUS_NOT_SUPPORTED - Feature not supported",
    10: "AMDSMI_STATUS_NO_PERM - Permission Denied",
    12: "AMDSMI_STATUS_IO - I/O Error",
    30: "AMDSMI_STATUS_BUSY - Device busy",
    34: "AMDSMI_STATUS_DRIVER_NOT_LOADED - Driver not loaded",
}
RESOLUTION_UJ = struct.unpack("f", struct.pack("f", 15.3))[0]  # 15.300000190734863


class AmdSmiException(Exception):  # noqa: N818 - amdsmi's own name
    pass


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        super().__init__(err_code)
        self.err_code = abs(err_code)
        self.err_info = _INFO.get(self.err_code, "AMDSMI_STATUS_UNKNOWN_ERROR - unknown")

    def __str__(self) -> str:
        return f"An error occured with code: {self.err_code}({self.err_info})"

    def get_error_code(self) -> int:
        return self.err_code


class AmdSmiParameterException(AmdSmiException):
    def __init__(self, received: object, expected: type) -> None:
        super().__init__()
        self.err_msg = f"Invalid parameter:\nActual type: {type(received)}\nExpected: {expected}"

    def __str__(self) -> str:
        return self.err_msg


class Handle:
    """An opaque processor handle (the real one is a ctypes pointer)."""

    def __init__(self, gpu: FakeGpu) -> None:
        self.gpu = gpu


@dataclass
class FakeProcess:
    pid: int
    gfx_ns: int = 0
    vram_b: int = 0


@dataclass
class FakeGpu:
    power_w: Callable[[float], float]  # true power at a clock time
    market_name: str = "AMD Instinct MI300X"
    uuid: str = "9aff74a1-0000-1000-80f3-8d1a2b3c4d5e"
    asic_serial: str = "0x8D1A2B3C4D5E6F70"
    power_key: str = "current_socket_power"  # which key this GPU reports
    power_limit_w: int = 750
    hip_id: int | None = None
    counter_fault: str | None = None
    procs: list[FakeProcess] = field(default_factory=list)
    energy_j: float = 0.0  # true energy since "driver load"
    t_s: float | None = None
    stuck_counts: int | None = None

    def advance(self, now_s: float) -> None:
        if self.t_s is None:
            self.t_s = now_s
        if now_s > self.t_s:
            self.energy_j += integrate(self.power_w, self.t_s, now_s)
            self.t_s = now_s

    def counts(self) -> int:
        counts = math.floor(self.energy_j * 1e6 / RESOLUTION_UJ)
        if self.counter_fault == "stuck":
            if self.stuck_counts is None:
                self.stuck_counts = counts
            return self.stuck_counts
        if self.counter_fault == "scaled":
            return counts * 1000
        if self.counter_fault == "backwards" and self.energy_j > 50 * 300:
            return counts - 100_000_000  # dropped by 1.53 kJ once the GPU used 15 kJ
        return counts


def integrate(power_w: Callable[[float], float], a_s: float, b_s: float, n: int = 64) -> float:
    h = (b_s - a_s) / n
    total = power_w(a_s) + power_w(b_s)
    total += sum((4 if i % 2 else 2) * power_w(a_s + i * h) for i in range(1, n))
    return total * h / 3


class FakeAmdSmi:
    """Use an instance where the module would go: ``discover_amd(amdsmi=FakeAmdSmi(...))``."""

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiParameterException = AmdSmiParameterException

    def __init__(
        self,
        gpus: list[FakeGpu],
        clock: Callable[[], float],
        *,
        driver_loaded: bool = True,
        legacy_keys: bool = False,
        process_api: str = "dicts",
        enumeration: bool = False,
    ) -> None:
        self.gpus, self.clock = gpus, clock
        self.driver_loaded, self.legacy_keys, self.process_api = (
            driver_loaded,
            legacy_keys,
            process_api,
        )
        self.handles = [Handle(g) for g in gpus]
        self.inits = 0
        self.calls: list[str] = []
        self.fail: dict[str, list[int]] = {}  # function name -> error codes for its next calls
        if enumeration:  # the function only exists from ROCm 6.4 on
            self.amdsmi_get_gpu_enumeration_info = self._enumeration_info

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if self.inits <= 0:
            raise AmdSmiLibraryException(32)  # NOT_INIT
        codes = self.fail.get(name)
        if codes:
            raise AmdSmiLibraryException(codes.pop(0))

    def _gpu(self, name: str, handle: object) -> FakeGpu:
        self._enter(name)
        if not isinstance(handle, Handle):
            raise AmdSmiParameterException(handle, Handle)
        handle.gpu.advance(self.clock())
        return handle.gpu

    def amdsmi_init(self, flags: int = 2) -> None:
        if not self.driver_loaded:
            raise AmdSmiLibraryException(STATUS_DRIVER_NOT_LOADED)
        self.inits += 1

    def amdsmi_shut_down(self) -> None:
        self.inits -= 1

    def amdsmi_get_processor_handles(self) -> list[Handle]:
        self._enter("amdsmi_get_processor_handles")
        return list(self.handles)

    def amdsmi_get_gpu_device_uuid(self, handle: Handle) -> str:
        return self._gpu("amdsmi_get_gpu_device_uuid", handle).uuid

    def amdsmi_get_gpu_asic_info(self, handle: Handle) -> dict[str, Any]:
        gpu = self._gpu("amdsmi_get_gpu_asic_info", handle)
        return {"market_name": gpu.market_name, "vendor_id": 4098, "asic_serial": gpu.asic_serial}

    def _enumeration_info(self, handle: Handle) -> dict[str, Any]:
        gpu = self._gpu("amdsmi_get_gpu_enumeration_info", handle)
        hip_id = gpu.hip_id if gpu.hip_id is not None else self.gpus.index(gpu)
        return {"drm_render": 128 + hip_id, "hip_id": hip_id, "hip_uuid": f"GPU-{gpu.uuid}"}

    def amdsmi_get_energy_count(self, handle: Handle) -> dict[str, Any]:
        gpu = self._gpu("amdsmi_get_energy_count", handle)
        if gpu.counter_fault == "unsupported":
            raise AmdSmiLibraryException(STATUS_NOT_SUPPORTED)
        counts = gpu.counts()
        out: dict[str, Any] = {"power": counts, "counter_resolution": RESOLUTION_UJ}
        if not self.legacy_keys:
            out["energy_accumulator"] = counts
        out["timestamp"] = int(self.clock() * 1e9)
        return out

    def amdsmi_get_power_info(self, handle: Handle) -> dict[str, Any]:
        gpu = self._gpu("amdsmi_get_power_info", handle)
        now = self.clock()
        if gpu.power_key == "average_socket_power":
            value = integrate(gpu.power_w, now - 1.0, now)  # the last second's mean
        else:
            value = gpu.power_w(now)
        out: dict[str, Any] = {
            k: "N/A" for k in ("socket_power", "current_socket_power", "average_socket_power")
        }
        if gpu.power_key != "none":
            out[gpu.power_key] = round(value)
        out.update(
            gfx_voltage=800, soc_voltage=900, mem_voltage=1100, power_limit=gpu.power_limit_w
        )
        return out

    def _proc_info(self, p: FakeProcess) -> dict[str, Any]:
        return {
            "name": "N/A",  # names of other users' processes need root
            "pid": p.pid,
            "mem": p.vram_b,
            "engine_usage": {"gfx": p.gfx_ns, "enc": 0},
            "memory_usage": {"gtt_mem": 0, "cpu_mem": 0, "vram_mem": p.vram_b},
        }

    def amdsmi_get_gpu_process_list(self, handle: Handle) -> list[Any]:
        gpu = self._gpu("amdsmi_get_gpu_process_list", handle)
        if self.process_api == "handles":
            return [("proc", p.pid) for p in gpu.procs]
        return [self._proc_info(p) for p in gpu.procs]

    def amdsmi_get_gpu_process_info(self, handle: Handle, proc: tuple[str, int]) -> dict[str, Any]:
        gpu = self._gpu("amdsmi_get_gpu_process_info", handle)
        return self._proc_info(next(p for p in gpu.procs if p.pid == proc[1]))
