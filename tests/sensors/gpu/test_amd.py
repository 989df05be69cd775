from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from tests.fakes_amdsmi import (
    STATUS_BUSY,
    STATUS_NO_PERM,
    STATUS_NOT_SUPPORTED,
    FakeAmdSmi,
    FakeGpu,
    FakeProcess,
)
from wattprint.errors import SensorPermissionError
from wattprint.meter import Meter
from wattprint.sensors.base import Component, Provenance, Sensor, Usage
from wattprint.sensors.gpu.amd import (
    AmdGpuSensor,
    discover_amd,
    judge_counter,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def wavy(t_s: float) -> float:
    return 300.0 + 200.0 * math.sin(t_s / 7.0)


def discover(
    gpus: list[FakeGpu],
    clock: FakeClock,
    environ: dict[str, str] | None = None,
    proc_dir: Path = Path("/proc"),
    **kw: object,
) -> tuple[list[AmdGpuSensor], list[str], FakeAmdSmi]:
    smi = FakeAmdSmi(gpus, clock, **kw)  # type: ignore[arg-type]
    sensors, reasons = discover_amd(
        environ=environ or {}, amdsmi=smi, clock=clock, sleep=clock.advance, proc_dir=proc_dir
    )
    assert all(isinstance(s, AmdGpuSensor) for s in sensors)
    return sensors, reasons, smi  # type: ignore[return-value]


def run(sensor: Sensor, clock: FakeClock, seconds: int, pids: tuple[int, ...] = ()) -> float:
    """Steps a sensor once a second; returns the energy of the intervals that were measured."""
    prev = Usage(clock.t_s, pids=pids)
    sensor.begin(prev)
    total_j = 0.0
    for _ in range(seconds):
        clock.advance(1.0)
        cur = Usage(clock.t_s, pids=pids)
        step = sensor.step(prev, cur)
        assert step.energy_j >= 0
        total_j += step.energy_j if step.gap is None else 0.0
        prev = cur
    return total_j


def truth_j(gpu: FakeGpu, clock: FakeClock, seconds: int, sensor: Sensor) -> tuple[float, float]:
    gpu.advance(clock.t_s)
    start_j = gpu.energy_j
    got_j = run(sensor, clock, seconds)
    gpu.advance(clock.t_s)
    return got_j, gpu.energy_j - start_j


def test_counter_energy_within_0_1_percent(clock: FakeClock) -> None:
    gpu = FakeGpu(wavy)
    (sensor,), reasons, _ = discover([gpu], clock)
    assert reasons == []
    info = sensor.info
    assert (info.component, info.device) == (Component.GPU, "AMD GPU 0 Instinct MI300X")
    assert (info.method, info.provenance) == ("amdsmi-energy", Provenance.MEASURED)
    assert info.warning is None and sensor.max_interval_s == math.inf
    got_j, true_j = truth_j(gpu, clock, 120, sensor)
    assert got_j == pytest.approx(true_j, rel=1e-3)


def test_rocm_before_6_4_reports_the_count_as_power(clock: FakeClock) -> None:
    gpu = FakeGpu(wavy)
    (sensor,), _, _ = discover([gpu], clock, legacy_keys=True)
    assert sensor.info.method == "amdsmi-energy"
    got_j, true_j = truth_j(gpu, clock, 30, sensor)
    assert got_j == pytest.approx(true_j, rel=1e-3)


@pytest.mark.parametrize("fault", ["stuck", "scaled"])
@pytest.mark.parametrize("key", ["current_socket_power", "average_socket_power", "socket_power"])
def test_self_check_catches_a_garbage_counter_and_integrates_within_2_percent(
    clock: FakeClock, fault: str, key: str
) -> None:
    gpu = FakeGpu(wavy, counter_fault=fault, power_key=key)
    (sensor,), _, _ = discover([gpu], clock)
    info = sensor.info
    assert (info.method, info.provenance) == ("amdsmi-power-integration", Provenance.INTEGRATED)
    assert info.warning is not None and "self-check failed" in info.warning
    assert "\n" not in info.warning
    assert info.details["power_key"] == key
    assert sensor.max_interval_s <= 2.0
    got_j, true_j = truth_j(gpu, clock, 120, sensor)
    assert got_j == pytest.approx(true_j, rel=0.02)


def test_unsupported_counter_integrates_and_says_why(clock: FakeClock) -> None:
    gpu = FakeGpu(wavy, counter_fault="unsupported")
    (sensor,), _, _ = discover([gpu], clock)
    assert sensor.info.provenance is Provenance.INTEGRATED
    assert any("not readable" in n for n in sensor.info.notes)


def test_no_counter_and_no_power_is_a_reason_not_a_sensor(clock: FakeClock) -> None:
    gpu = FakeGpu(wavy, counter_fault="unsupported", power_key="none")
    sensors, reasons, smi = discover([gpu], clock)
    assert sensors == [] and "neither energy counter nor power" in reasons[0]
    assert smi.inits == 0  # shut down again


def test_idle_gpu_passes_the_self_check(clock: FakeClock) -> None:
    (sensor,), _, _ = discover([FakeGpu(lambda t: 2.0)], clock)
    assert sensor.info.provenance is Provenance.MEASURED


@pytest.mark.parametrize(
    ("counter_w", "power_w", "ok"),
    [
        (300, 300, True),
        (110, 300, True),
        (950, 300, False),
        (0, 300, False),
        (math.nan, 300, False),
        (math.inf, None, False),
        (400, None, True),
        (3, 1, True),
    ],
)
def test_judge_counter(counter_w: float, power_w: float | None, ok: bool) -> None:
    assert (judge_counter(counter_w, power_w) is None) is ok


def test_counter_going_backwards_is_a_gap_then_counting_resumes(clock: FakeClock) -> None:
    gpu = FakeGpu(lambda t: 400.0, counter_fault="backwards")
    (sensor,), _, _ = discover([gpu], clock)
    prev = Usage(clock.t_s)
    sensor.begin(prev)
    gaps = []
    for _ in range(60):
        clock.advance(1.0)
        cur = Usage(clock.t_s)
        step = sensor.step(prev, cur)
        assert step.energy_j >= 0
        if step.gap:
            gaps.append(step.gap)
        else:
            assert step.energy_j == pytest.approx(400.0, rel=1e-3)
        prev = cur
    assert len(gaps) == 1 and "reset" in gaps[0]


class FakeProbe:
    def __init__(self, pids: tuple[int, ...] | None = None) -> None:
        self.pids = pids

    def read(self, t_s: float, full: bool = True) -> Usage:
        return Usage(t_s, pids=self.pids)

    def close(self) -> None:
        pass


def test_read_errors_become_gaps_and_the_next_reading_fills_them(clock: FakeClock) -> None:
    gpu = FakeGpu(lambda t: 250.0)
    (sensor,), _, smi = discover([gpu], clock)
    warnings: list[str] = []
    meter = Meter(
        [sensor],
        FakeProbe(),
        "machine",
        clock=clock,  # type: ignore[arg-type]
        warn=lambda key, msg: warnings.append(msg),
    )
    meter.begin()
    for i in range(10):
        clock.advance(1.0)
        if i == 4:
            smi.fail["amdsmi_get_energy_count"] = [STATUS_BUSY, STATUS_BUSY]
        meter.read()
    assert any("Device busy" in w and "\n" not in w for w in warnings)
    assert meter.gaps == []  # the counter kept counting: the next reading covered the gap
    assert meter.last is not None and meter.last.energy_j[0] == pytest.approx(2500.0, rel=1e-3)


def test_permission_denied_is_typed(clock: FakeClock) -> None:
    (sensor,), _, smi = discover([FakeGpu(wavy)], clock)
    sensor.begin(Usage(clock.t_s))
    smi.fail["amdsmi_get_energy_count"] = [STATUS_NO_PERM]
    clock.advance(1.0)
    with pytest.raises(SensorPermissionError, match="render group"):
        sensor.step(Usage(clock.t_s - 1), Usage(clock.t_s))


def test_discovery_reasons(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # import amdsmi raises ImportError
    sensors, reasons = discover_amd(environ={})
    assert sensors == [] and "not installed" in reasons[0]
    _, reasons, _ = discover([FakeGpu(wavy)], clock, driver_loaded=False)
    assert "Driver not loaded" in reasons[0] and "amdgpu driver" in reasons[0]
    _, reasons, _ = discover([], clock)
    assert reasons == ["amdsmi lists no AMD GPU"]


def four_gpus(enumeration_order: list[int] | None = None) -> list[FakeGpu]:
    return [
        FakeGpu(
            wavy,
            uuid=f"{i}aff74a1-0000-1000-80f3-00000000000{i}",
            asic_serial=f"0xC0FFEE{i}",
            hip_id=None if enumeration_order is None else enumeration_order[i],
        )
        for i in range(4)
    ]


@pytest.mark.parametrize(
    ("environ", "expect"),
    [
        ({}, [0, 1, 2, 3]),
        ({"HIP_VISIBLE_DEVICES": "2,0"}, [2, 0]),
        ({"CUDA_VISIBLE_DEVICES": "3"}, [3]),
        ({"HIP_VISIBLE_DEVICES": "1", "CUDA_VISIBLE_DEVICES": "3"}, [1]),
        ({"ROCR_VISIBLE_DEVICES": "1,3"}, [1, 3]),
        ({"ROCR_VISIBLE_DEVICES": "2,3", "HIP_VISIBLE_DEVICES": "1"}, [3]),  # HIP indexes ROCR's
        ({"ROCR_VISIBLE_DEVICES": "3,1", "HIP_VISIBLE_DEVICES": "1,0"}, [1, 3]),
        ({"ROCR_VISIBLE_DEVICES": "GPU-C0FFEE2"}, [2]),  # rocminfo's form of the unique_id
        ({"ROCR_VISIBLE_DEVICES": "0,GPU-3aff74a1-0000-1000-80f3-000000000003"}, [0, 3]),
        (
            {
                "ROCR_VISIBLE_DEVICES": "1,2",
                "HIP_VISIBLE_DEVICES": "2aff74a1-0000-1000-80f3-000000000002",
            },
            [2],
        ),
    ],
)
def test_visible_devices(clock: FakeClock, environ: dict[str, str], expect: list[int]) -> None:
    sensors, reasons, _ = discover(four_gpus(), clock, environ)
    assert reasons == []
    assert [s.gpu.physical for s in sensors] == expect
    assert [s.info.device.split()[2] for s in sensors] == [str(i) for i in range(len(expect))]


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"HIP_VISIBLE_DEVICES": ""}, "set but empty"),
        ({"ROCR_VISIBLE_DEVICES": "0,7"}, "'7' names no GPU"),
        ({"ROCR_VISIBLE_DEVICES": "1", "HIP_VISIBLE_DEVICES": "1"}, "'1' names no GPU"),
        ({"ROCR_VISIBLE_DEVICES": "GPU-DEADBEEF"}, "'GPU-DEADBEEF' names no GPU"),
    ],
)
def test_visible_devices_that_name_nothing_say_so(
    clock: FakeClock, environ: dict[str, str], reason: str
) -> None:
    _, reasons, _ = discover(four_gpus(), clock, environ)
    assert any(reason in r for r in reasons)


def test_rocr_indices_follow_hip_enumeration_order_when_amdsmi_gives_it(clock: FakeClock) -> None:
    gpus = four_gpus(enumeration_order=[3, 2, 1, 0])  # amdsmi's handles in reverse HIP order
    sensors, _, _ = discover(gpus, clock, {"ROCR_VISIBLE_DEVICES": "0"}, enumeration=True)
    assert [s.gpu.handle.gpu for s in sensors] == [gpus[3]]


def fake_proc(root: Path, *pids: int, render: int | None = None) -> Path:
    """A /proc with these pids; the last one holds /dev/dri/renderD<render> open."""
    for pid in pids:
        (root / str(pid) / "fd").mkdir(parents=True)
    if render is not None:
        (root / str(pids[-1]) / "fd" / "3").symlink_to(f"/dev/dri/renderD{render}")
    return root


@pytest.mark.parametrize("api", ["dicts", "handles"])
def test_attribution_splits_by_gfx_engine_time(clock: FakeClock, tmp_path: Path, api: str) -> None:
    mine, other = FakeProcess(100, gfx_ns=5_000, vram_b=1 << 30), FakeProcess(200, vram_b=3 << 30)
    gpu = FakeGpu(wavy, procs=[mine, other])
    proc = fake_proc(tmp_path, 100, 101, 200)
    (sensor,), _, _ = discover([gpu], clock, proc_dir=proc, process_api=api)
    prev = Usage(clock.t_s, pids=(100, 101))
    sensor.begin(prev)
    clock.advance(1.0)
    mine.gfx_ns += 300_000_000
    other.gfx_ns += 100_000_000
    cur = Usage(clock.t_s, pids=(100, 101))
    assert sensor.attribute(prev, cur) == pytest.approx(0.75)
    clock.advance(1.0)  # nobody computed: split by process count
    assert sensor.attribute(cur, Usage(clock.t_s, pids=(100,))) == pytest.approx(0.5)
    gpu.procs.remove(mine)
    assert sensor.attribute(cur, Usage(clock.t_s, pids=(100,))) == 0.0
    assert sensor.attribute(cur, Usage(clock.t_s, pids=None)) is None
    gpu.procs[:] = [mine]
    assert sensor.attribute(cur, Usage(clock.t_s, pids=(100,))) == 1.0


def test_attribution_in_a_container_uses_the_render_node(clock: FakeClock, tmp_path: Path) -> None:
    host_pid = FakeProcess(987_654, gfx_ns=10)  # the driver lists the host's pid
    gpu = FakeGpu(wavy, procs=[host_pid])
    proc = fake_proc(tmp_path, 7, render=128)  # the job is pid 7 in its namespace
    (sensor,), _, _ = discover([gpu], clock, proc_dir=proc, enumeration=True)
    assert sensor.gpu.render == 128
    tree = Usage(clock.t_s, pids=(7,))
    sensor.begin(tree)
    assert sensor.attribute(tree, tree) == 1.0 and "namespace" in sensor.split
    gpu.procs.append(FakeProcess(987_655))
    assert sensor.attribute(tree, tree) is None  # two foreign processes: unknown, a gap
    (tmp_path / "7" / "fd" / "3").unlink()
    assert sensor.attribute(tree, tree) == 0.0  # the job does not use this GPU


def test_attribution_without_a_process_list_gives_the_whole_gpu(clock: FakeClock) -> None:
    smi = FakeAmdSmi([FakeGpu(wavy)], clock)
    smi.fail["amdsmi_get_gpu_process_list"] = [STATUS_NOT_SUPPORTED]
    (sensor,), _ = discover_amd(environ={}, amdsmi=smi, clock=clock, sleep=clock.advance)
    assert sensor.attribute(Usage(0.0, pids=(1,)), Usage(1.0, pids=(1,))) == 1.0
    assert any("bills the whole GPU" in n for n in sensor.info.notes)


def test_closing_the_last_sensor_shuts_amdsmi_down(clock: FakeClock) -> None:
    sensors, _, smi = discover(four_gpus(), clock)
    assert smi.inits == 1
    for s in sensors:
        s.close()
    assert smi.inits == 0


def test_importing_wattprint_never_imports_amdsmi(tmp_path: Path) -> None:
    trap = tmp_path / "amdsmi.py"
    trap.write_text("raise RuntimeError('amdsmi was imported')\n")
    code = (
        "import wattprint, wattprint.sensors.gpu.amd, wattprint.sensors.gpu.amdsmi_api, sys; "
        "assert 'amdsmi' not in sys.modules"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{SRC}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_discovery_errors_are_typed_one_liners(clock: FakeClock) -> None:
    smi = FakeAmdSmi([FakeGpu(wavy)], clock)
    smi.fail["amdsmi_get_processor_handles"] = [STATUS_BUSY]
    sensors, reasons = discover_amd(environ={}, amdsmi=smi, clock=clock, sleep=clock.advance)
    assert sensors == [] and smi.inits == 0
    assert reasons == [
        "amdsmi amdsmi_get_processor_handles failed: AMDSMI_STATUS_BUSY - Device busy"
    ]
