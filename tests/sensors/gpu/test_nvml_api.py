"""The NVML call boundary against tests/fakes_nvml.py (a stand-in pynvml)."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fakes import FakeClock
from tests.fakes_nvml import (
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_NO_PERMISSION,
    NVML_ERROR_NOT_SUPPORTED,
    NVML_ERROR_UNKNOWN,
    FakeGpu,
    FakeNvml,
    NVMLError,
)
from wattprint.errors import GpuLostError, SensorError, SensorPermissionError
from wattprint.sensors.gpu.nvml_api import (
    NvmlSession,
    field_mw,
    has_instant_power,
    import_pynvml,
    init_reason,
    is_error,
    mig_uuids,
    module_scope,
    power_mw,
    power_usage_averaged,
    process_samples,
    running_pids,
    text,
    typed_error,
)

MIG = "MIG-aaaa0000-1111-2222-3333-444444444444"


def opened(clock: FakeClock, gpu: FakeGpu) -> tuple[FakeNvml, Any]:
    nv = FakeNvml(clock, [gpu])
    nv.nvmlInit()
    return nv, nv.nvmlDeviceGetHandleByIndex(0)


def test_session_pairs_one_init_with_one_shutdown(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [FakeGpu()])
    session = NvmlSession(nv)
    session.acquire()
    session.acquire()
    assert nv.init_count == 1
    session.release()
    assert nv.init_count == 1
    session.release()
    assert nv.init_count == 0


def test_a_failing_shutdown_is_not_an_error(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shutdown() -> None:
        raise NVMLError(NVML_ERROR_UNKNOWN)

    nv = FakeNvml(clock, [FakeGpu()])
    monkeypatch.setattr(nv, "nvmlShutdown", shutdown)
    session = NvmlSession(nv)
    session.acquire()
    session.release()


def test_is_error_by_name_and_absent_classes(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [])
    lost = NVMLError(NVML_ERROR_GPU_IS_LOST)
    assert is_error(lost, nv, "NVMLError_GpuIsLost")
    assert not is_error(lost, nv, "NVMLError_NoPermission")
    assert not is_error(lost, nv, "NVMLError_NotInThisPynvml")  # an older pynvml: no class


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "NVML could not load libnvidia-ml (no NVIDIA driver)"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "the NVIDIA driver is not loaded"),
        (NVML_ERROR_NO_PERMISSION, "NVML may not talk to the NVIDIA driver"),
        (NVML_ERROR_UNKNOWN, "NVML could not start (Unknown Error)"),
    ],
)
def test_init_reason(clock: FakeClock, code: int, reason: str) -> None:
    assert init_reason(FakeNvml(clock, []), NVMLError(code)).startswith(reason)


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (NVML_ERROR_GPU_IS_LOST, GpuLostError, "is lost"),
        (NVML_ERROR_NO_PERMISSION, SensorPermissionError, "denied power"),
        (NVML_ERROR_UNKNOWN, SensorError, "could not read power"),
    ],
)
def test_typed_errors(clock: FakeClock, code: int, kind: type[SensorError], words: str) -> None:
    error = typed_error(FakeNvml(clock, []), NVMLError(code), "GPU 0 H100", "power")
    assert type(error) is kind
    assert str(error).startswith("GPU 0 H100") and words in str(error) and "\n" not in str(error)


def test_text_is_optional(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(name="NVIDIA H100"))
    assert text(nv, "nvmlDeviceGetName", handle) == "NVIDIA H100"
    assert text(nv, "nvmlDeviceGetNoSuchThing", handle) is None  # an older NVML
    assert text(SimpleNamespace(f=lambda: b"550.54"), "f") == "550.54"  # old pynvml: bytes
    nv.gpus[0].failing["nvmlDeviceGetName"] = NVML_ERROR_UNKNOWN
    assert text(nv, "nvmlDeviceGetName", handle) is None


def test_power_readings(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(arch="hopper", power_w=lambda t: 250.0))
    assert has_instant_power(nv, handle) and not module_scope(nv, handle)
    assert power_mw(nv, handle, True) == 250_000.0
    assert power_mw(nv, handle, False) == pytest.approx(250_000.0)
    with pytest.raises(NVMLError):  # the field's own return code
        field_mw(nv, handle, FakeNvml.NVML_FI_DEV_POWER_INSTANT, FakeNvml.NVML_POWER_SCOPE_MODULE)


def test_power_fields_on_grace_and_on_old_drivers(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(arch="hopper", module_extra_w=150.0))
    assert module_scope(nv, handle)
    nv, handle = opened(clock, FakeGpu(arch="pascal", instant_field=False))
    assert not has_instant_power(nv, handle) and not module_scope(nv, handle)


@pytest.mark.parametrize(
    ("arch", "averaged"), [("pascal", False), ("ga100", False), ("ampere", True), ("hopper", True)]
)
def test_power_usage_is_a_1s_average_after_ga100(
    clock: FakeClock, arch: str, averaged: bool
) -> None:
    nv, handle = opened(clock, FakeGpu(arch=arch))
    assert power_usage_averaged(nv, handle) is averaged
    nv.gpus[0].failing["nvmlDeviceGetCudaComputeCapability"] = NVML_ERROR_NOT_SUPPORTED
    assert power_usage_averaged(nv, handle) is None


def test_mig_uuids(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(arch="hopper", migs=[MIG]))
    assert mig_uuids(nv, handle) == (MIG,)  # the empty slots are skipped
    nv, handle = opened(clock, FakeGpu(arch="pascal"))
    assert mig_uuids(nv, handle) == ()


def test_running_pids(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(compute_pids=[10, 11], graphics_pids=[11, 12]))
    assert running_pids(nv, handle) == {10, 11, 12}
    nv.gpus[0].failing["nvmlDeviceGetGraphicsRunningProcesses"] = NVML_ERROR_NOT_SUPPORTED
    assert running_pids(nv, handle) == {10, 11}  # a compute-only board
    nv.gpus[0].failing["nvmlDeviceGetGraphicsRunningProcesses"] = NVML_ERROR_NO_PERMISSION
    with pytest.raises(NVMLError):
        running_pids(nv, handle)


def test_process_samples(clock: FakeClock) -> None:
    nv, handle = opened(clock, FakeGpu(arch="hopper", sm_util={10: 40}))
    clock.advance(1.0)
    (sample,) = process_samples(nv, handle, 0) or ()
    assert (sample.pid, sample.smUtil) == (10, 40)
    assert process_samples(nv, handle, sample.timeStamp) is None  # nothing newer: NotFound
    nv, handle = opened(clock, FakeGpu(arch="kepler"))
    with pytest.raises(NVMLError):  # pre-Maxwell: NotSupported
        process_samples(nv, handle, 0)


def test_import_pynvml_raises_import_error_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(ImportError):
        import_pynvml()


def test_fake_copies_pynvml_names_and_codes() -> None:
    """Where nvidia-ml-py is installed, the fake's constants and error classes are its own."""
    pynvml = pytest.importorskip("pynvml")
    from tests import fakes_nvml

    for name in dir(fakes_nvml):
        if name.startswith("NVML_ERROR_") or name == "NVML_SUCCESS":
            assert getattr(pynvml, name) == getattr(fakes_nvml, name), name
        if name.startswith("NVMLError_"):
            real = getattr(pynvml, name)
            assert issubclass(real, pynvml.NVMLError)
            code = getattr(fakes_nvml, name)(0).value
            assert type(pynvml.NVMLError(code)) is real and str(real(code)) == str(
                getattr(fakes_nvml, name)(0)
            )
    for name in ("NVML_FI_DEV_POWER_INSTANT", "NVML_FI_DEV_POWER_AVERAGE",
                 "NVML_POWER_SCOPE_GPU", "NVML_POWER_SCOPE_MODULE"):  # fmt: skip
        assert getattr(pynvml, name) == getattr(FakeNvml, name), name
