"""All accelerators: NVIDIA (NVML), AMD (amdsmi), Apple Silicon (powermetrics).

:func:`discover_gpus` asks every vendor. A vendor's module (and its binding) is imported only
when its driver is present, so ``import wattprint``, ``start()`` and ``wattprint devices`` on a
machine without that vendor's GPU pay nothing; what is missing is reported with the reason and
the fix.

Which file is which (each mirrored by ``tests/sensors/gpu/test_<file>.py``):

========  ==================================  ========================================
vendor    discovery and sensor                binding boundary: session, typed errors
========  ==================================  ========================================
NVIDIA    ``nvidia.py``: NvidiaSensor         ``nvml_api.py``: ``pynvml``
AMD       ``amd.py``: AmdGpuSensor            ``amdsmi_api.py``: ``amdsmi``
Apple     ``apple.py``: PowermetricsSensor    none (runs ``powermetrics`` itself)
========  ==================================  ========================================

Shared by NVIDIA and AMD: ``visible.py``, which GPUs a job sees (``CUDA_VISIBLE_DEVICES`` and
``gpu_ids``; ``ROCR_``/``HIP_VISIBLE_DEVICES``), and ``share.py``, a job's share of a GPU
(``gpu_share``; ``holds_device`` for ``/dev/nvidiaN`` and ``/dev/dri/renderDN``). This file
routes: :func:`discover_gpus`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from wattprint.errors import ConfigError
from wattprint.sensors.base import Sensor

Found = tuple[list[Sensor], list[str]]


def _linux_driver(*paths: str) -> bool:
    """On Linux a vendor's kernel driver leaves these files; elsewhere assume it may be there."""
    return not sys.platform.startswith("linux") or any(os.path.exists(p) for p in paths)


def discover_gpus(
    gpu_ids: Sequence[int | str] | None = None, environ: Mapping[str, str] | None = None
) -> Found:
    """(sensors, reasons) over every vendor; a reason says why a vendor gave no sensors.
    ``environ``: where the visible-devices variables are read (default: this process's)."""

    def nvidia() -> Found:
        if not _linux_driver("/proc/driver/nvidia", "/dev/nvidiactl"):
            return [], ["no NVIDIA driver on this machine (no /proc/driver/nvidia)"]
        from wattprint.sensors.gpu.nvidia import discover_nvidia

        return discover_nvidia(gpu_ids=gpu_ids, environ=environ)

    def amd() -> Found:
        if not _linux_driver("/dev/kfd", "/sys/module/amdgpu"):
            return [], ["no AMD GPU driver on this machine (no /dev/kfd)"]
        from wattprint.sensors.gpu.amd import discover_amd

        return discover_amd(environ=environ)

    def apple() -> Found:
        if sys.platform != "darwin":
            return [], ["not macOS"]
        from wattprint.sensors.gpu.apple import discover_apple

        return discover_apple()

    vendors: list[tuple[str, Callable[[], Found]]] = [
        ("NVIDIA", nvidia),
        ("AMD", amd),
        ("Apple", apple),
    ]
    sensors: list[Sensor] = []
    reasons: list[str] = []
    for vendor, found in vendors:
        try:
            vendor_sensors, vendor_reasons = found()
        except ConfigError:  # bad gpu_ids / CUDA_VISIBLE_DEVICES: the user must hear it
            raise
        except Exception as exc:  # noqa: BLE001 - one vendor's failure must not hide the others
            vendor_sensors, vendor_reasons = [], [f"{type(exc).__name__}: {exc}"]
        sensors.extend(vendor_sensors)
        reasons.extend(f"{vendor}: {r}" for r in vendor_reasons)  # e.g. a dropped entry
    return sensors, reasons
