"""The amdsmi call boundary against tests/fakes_amdsmi.py (a stand-in amdsmi)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeClock
from tests.fakes_amdsmi import (
    RESOLUTION_UJ,
    STATUS_BUSY,
    STATUS_DRIVER_NOT_LOADED,
    STATUS_NO_PERM,
    STATUS_NOT_SUPPORTED,
    AmdSmiLibraryException,
    FakeAmdSmi,
    FakeGpu,
    FakeProcess,
)
from wattprint.errors import SensorError, SensorPermissionError, SensorUnavailableError
from wattprint.sensors.gpu.amdsmi_api import (
    AmdSmiSession,
    call,
    import_amdsmi,
    number,
    read_energy_uj,
    read_power_w,
    read_processes,
)


def opened(clock: FakeClock, gpu: FakeGpu, **kw: Any) -> tuple[FakeAmdSmi, Any]:
    smi = FakeAmdSmi([gpu], clock, **kw)
    smi.amdsmi_init()
    return smi, smi.amdsmi_get_processor_handles()[0]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (STATUS_NO_PERM, SensorPermissionError),
        (STATUS_NOT_SUPPORTED, SensorUnavailableError),
        (STATUS_DRIVER_NOT_LOADED, SensorUnavailableError),
        (STATUS_BUSY, SensorError),
    ],
)
def test_call_raises_typed_one_line_errors(
    clock: FakeClock, code: int, kind: type[SensorError]
) -> None:
    smi, handle = opened(clock, FakeGpu(lambda t: 300.0))
    smi.fail["amdsmi_get_power_info"] = [code]
    with pytest.raises(SensorError) as info:
        call(smi, "amdsmi_get_power_info", handle)
    assert type(info.value) is kind and "\n" not in str(info.value)
    assert str(info.value).startswith("amdsmi amdsmi_get_power_info failed: AMDSMI_STATUS_")


def test_parameter_errors_become_one_line(clock: FakeClock) -> None:
    smi, _ = opened(clock, FakeGpu(lambda t: 300.0))
    with pytest.raises(SensorError) as info:
        call(smi, "amdsmi_get_power_info", "not a handle")
    assert "\n" not in str(info.value) and "Invalid parameter" in str(info.value)


def test_number_reads_n_a_as_missing() -> None:
    assert number(12) == 12.0 and number(1.5) == 1.5
    assert number("N/A") is None and number(None) is None and number(True) is None


@pytest.mark.parametrize("legacy_keys", [False, True])
def test_energy_in_microjoules(clock: FakeClock, legacy_keys: bool) -> None:
    smi, handle = opened(clock, FakeGpu(lambda t: 300.0), legacy_keys=legacy_keys)
    start = read_energy_uj(smi, handle)
    clock.advance(10.0)
    got_j = (read_energy_uj(smi, handle) - start) / 1e6
    assert got_j == pytest.approx(3000.0, abs=2 * RESOLUTION_UJ / 1e6)


@pytest.mark.parametrize(
    ("answer", "kind", "words"),
    [
        ({"power": "N/A", "counter_resolution": 15.3}, SensorUnavailableError, "no counter"),
        ({"energy_accumulator": 10, "counter_resolution": -1.0}, SensorError, "not a number"),
    ],
)
def test_a_bad_counter_is_an_error(
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    answer: dict[str, object],
    kind: type[SensorError],
    words: str,
) -> None:
    smi, handle = opened(clock, FakeGpu(lambda t: 300.0))
    monkeypatch.setattr(smi, "amdsmi_get_energy_count", lambda h: answer)
    with pytest.raises(kind, match=words):
        read_energy_uj(smi, handle)


@pytest.mark.parametrize("key", ["socket_power", "current_socket_power", "average_socket_power"])
def test_power_from_whichever_key_the_gpu_reports(clock: FakeClock, key: str) -> None:
    smi, handle = opened(clock, FakeGpu(lambda t: 300.0, power_key=key))
    clock.advance(2.0)
    assert read_power_w(smi, handle) == (pytest.approx(300.0), key)
    assert read_power_w(smi, handle, key)[1] == key
    other = "socket_power" if key != "socket_power" else "current_socket_power"
    with pytest.raises(SensorUnavailableError):
        read_power_w(smi, handle, other)


@pytest.mark.parametrize("process_api", ["dicts", "handles"])
def test_processes_in_both_layouts(clock: FakeClock, process_api: str) -> None:
    procs = [FakeProcess(10, gfx_ns=500, vram_b=1 << 30), FakeProcess(11)]
    smi, handle = opened(clock, FakeGpu(lambda t: 300.0, procs=procs), process_api=process_api)
    assert read_processes(smi, handle) == ({10: 500, 11: 0}, {10: 1 << 30, 11: 0})


def test_session_shuts_down_with_its_last_user(clock: FakeClock) -> None:
    smi, _ = opened(clock, FakeGpu(lambda t: 300.0))
    session = AmdSmiSession(smi, users=2)
    session.release()
    assert smi.inits == 1
    session.release()
    assert smi.inits == 0


def test_a_failing_shut_down_is_not_an_error(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shut_down() -> None:
        raise AmdSmiLibraryException(STATUS_BUSY)

    smi, _ = opened(clock, FakeGpu(lambda t: 300.0))
    monkeypatch.setattr(smi, "amdsmi_shut_down", shut_down)
    AmdSmiSession(smi, users=1).release()


def test_import_amdsmi_keeps_its_stdout_chatter_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the real module prints this when libamd_smi.so is missing (as Zeus notes)
    (tmp_path / "amdsmi.py").write_text("print('Unable to find libamd_smi.so')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    assert import_amdsmi().__name__ == "amdsmi"
    assert capsys.readouterr().out == ""
