"""sensors/gpu/__init__.py: discovery routed over the vendors (each vendor has its own tests)."""

from __future__ import annotations

import sys

import pytest

from wattprint.errors import ConfigError
from wattprint.sensors import gpu
from wattprint.sensors.base import Sensor

VENDOR_MODULES = [
    f"wattprint.sensors.gpu.{name}"
    for name in ("nvidia", "nvml_api", "amd", "amdsmi_api", "apple", "visible", "share")
]


def test_no_driver_means_no_import_and_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu, "_linux_driver", lambda *paths: False)
    monkeypatch.setattr(sys, "platform", "linux")
    for name in VENDOR_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    sensors, reasons = gpu.discover_gpus()
    assert sensors == []
    assert [r.split(":")[0] for r in reasons] == ["NVIDIA", "AMD", "Apple"]
    imported = [name for name in VENDOR_MODULES if name in sys.modules]
    assert imported == []  # nothing imported without a driver


def test_one_vendors_failure_does_not_hide_another(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattprint.sensors.gpu import amd, nvidia

    marker: list[Sensor] = [object()]  # type: ignore[list-item]
    monkeypatch.setattr(gpu, "_linux_driver", lambda *paths: True)

    def broken(**kwargs: object) -> object:
        raise RuntimeError("libnvidia-ml.so: cannot open shared object file")

    monkeypatch.setattr(nvidia, "discover_nvidia", broken)
    monkeypatch.setattr(amd, "discover_amd", lambda **kw: (marker, []))
    sensors, reasons = gpu.discover_gpus()
    assert sensors == marker
    assert any("NVIDIA: RuntimeError" in r for r in reasons)


def test_bad_gpu_ids_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattprint.sensors.gpu import nvidia

    monkeypatch.setattr(gpu, "_linux_driver", lambda *paths: True)

    def bad(**kwargs: object) -> object:
        raise ConfigError("gpu_ids entry 7 is out of range; ...")

    monkeypatch.setattr(nvidia, "discover_nvidia", bad)
    with pytest.raises(ConfigError):
        gpu.discover_gpus(gpu_ids=[7])
