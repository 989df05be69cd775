"""The ``amdsmi`` call boundary: the session, typed one-line errors, and the readings
wattprint uses. ``nvml_api.py`` is its NVIDIA twin; ``amd.py`` builds on it.

Key names and units from the amdsmi py-interface README (ROCm 6.0-7.x):
- ``amdsmi_get_energy_count(h)``: ``energy_accumulator`` x ``counter_resolution`` = energy in
  µJ since the driver loaded; ROCm < 6.4 put the count in ``power`` (deprecated since);
- ``amdsmi_get_power_info(h)``: ``socket_power`` (newest), ``current_socket_power`` (MI300+),
  ``average_socket_power`` (MI200 and older, Navi), all in W, ``"N/A"`` when unsupported;
- ``amdsmi_get_gpu_process_list(h)``: dicts with ``pid``, ``engine_usage.gfx`` (ns of GFX
  engine time, cumulative per DRM client) and ``memory_usage.vram_mem`` / ``mem`` (bytes);
  before ROCm 6.1 a list of process handles for ``amdsmi_get_gpu_process_info(h, p)``;
- errors are ``AmdSmiException``s; library ones carry ``err_code`` (``amdsmi_status_t``) and
  ``err_info``; parameter ones have multi-line messages.

Typed errors (:func:`call`): NO_PERM -> SensorPermissionError; NOT_SUPPORTED, NOT_FOUND,
DRIVER_NOT_LOADED... -> SensorUnavailableError; anything else -> SensorError.

Importing this module never imports ``amdsmi``; :func:`import_amdsmi` does.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattprint.errors import SensorError, SensorPermissionError, SensorUnavailableError

POWER_KEYS = ("socket_power", "current_socket_power", "average_socket_power")
# amdsmi_status_t (amdsmi.h): what each code means for us.
_PERMISSION = {10}  # NO_PERM
_UNAVAILABLE = {2, 3, 31, 34}  # NOT_SUPPORTED, NOT_YET_IMPLEMENTED, NOT_FOUND, DRIVER_NOT_LOADED


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def typed_error(call: str, exc: BaseException) -> SensorError:
    code = getattr(exc, "err_code", None)
    info = getattr(exc, "err_info", None) or exc
    msg = f"amdsmi {call} failed: {one_line(info)}"
    if code in _PERMISSION:
        return SensorPermissionError(f"{msg}; run as root or add the user to the render group")
    if code in _UNAVAILABLE:
        return SensorUnavailableError(msg)
    return SensorError(msg)


def call(smi: Any, name: str, *args: Any) -> Any:
    """Calls ``smi.<name>``; amdsmi's exceptions become typed one-line SensorErrors."""
    try:
        return getattr(smi, name)(*args)
    except getattr(smi, "AmdSmiException", Exception) as exc:
        raise typed_error(name, exc) from exc


def number(value: object) -> float | None:
    """amdsmi reports missing values as the string "N/A"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def read_energy_uj(smi: Any, handle: Any) -> int:
    """The accumulated energy in whole microjoules (accumulator x resolution)."""
    got = call(smi, "amdsmi_get_energy_count", handle)
    acc = number(got.get("energy_accumulator", got.get("power")))
    res = number(got.get("counter_resolution"))
    if acc is None or res is None:
        raise SensorUnavailableError(f"amdsmi_get_energy_count returned no counter: {got}")
    energy_uj = acc * res
    if not math.isfinite(energy_uj) or energy_uj < 0:
        raise SensorError(f"amdsmi energy counter is not a number: {acc} x {res}")
    return round(energy_uj)


def read_power_w(smi: Any, handle: Any, key: str | None = None) -> tuple[float, str]:
    """Socket power in W, and the key it came from (``key`` when given, else the first one
    this GPU supports)."""
    got = call(smi, "amdsmi_get_power_info", handle)
    for k in (key,) if key else POWER_KEYS:
        value = number(got.get(k))
        if value is not None:
            return value, k
    raise SensorUnavailableError(f"amdsmi_get_power_info gives no socket power ({key or 'any'})")


def read_processes(smi: Any, handle: Any) -> tuple[dict[int, int], dict[int, int]]:
    """Per pid on the GPU: cumulative GFX engine busy ns, and VRAM bytes."""
    gfx: dict[int, int] = {}
    vram: dict[int, int] = {}
    for entry in call(smi, "amdsmi_get_gpu_process_list", handle) or ():
        info = (
            entry
            if isinstance(entry, Mapping)
            else call(smi, "amdsmi_get_gpu_process_info", handle, entry)
        )
        pid = info.get("pid")
        if not isinstance(pid, int):
            continue
        engine = info.get("engine_usage") or {}
        memory = info.get("memory_usage") or {}
        gfx[pid] = int(number(engine.get("gfx")) or 0)
        vram[pid] = int(number(memory.get("vram_mem")) or number(info.get("mem")) or 0)
    return gfx, vram


@dataclass
class AmdSmiSession:
    """One amdsmi_init shared by the sensors of one discovery; shut down with the last."""

    smi: Any
    users: int = 0

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            with contextlib.suppress(getattr(self.smi, "AmdSmiException", Exception)):
                self.smi.amdsmi_shut_down()


def import_amdsmi() -> Any:
    """The real module. It prints to stdout when libamd_smi.so is missing (as Zeus notes)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module("amdsmi")
