"""NVIDIA discovery and the NVIDIA sensor against tests/fakes_nvml.py (a stand-in pynvml)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock
from tests.fakes_nvml import (
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_UNKNOWN,
    FakeGpu,
    FakeNvml,
    sine_energy_j,
    sine_load,
)
from wattprint.errors import (
    ConfigError,
    GpuLostError,
    SensorError,
    SensorPermissionError,
    SensorUnavailableError,
)
from wattprint.sensors.base import Component, Provenance, Usage
from wattprint.sensors.gpu.nvidia import (
    COUNT_NOTE,
    MODULE_NOTE,
    NOT_INSTALLED,
    NvidiaSensor,
    detect_update_period_s,
    discover_nvidia,
)


def uuid(n: int) -> str:
    return f"GPU-{n:04x}{n:04x}-0000-4000-8000-{n:012x}"


def board(n: int, **kw: object) -> FakeGpu:
    kw.setdefault("arch", "hopper")
    kw.setdefault("name", "NVIDIA H100 80GB HBM3")
    return FakeGpu(uuid=uuid(n), **kw)  # type: ignore[arg-type]


def discover(
    nv: FakeNvml, env: dict[str, str] | None = None, **kw: object
) -> tuple[list[NvidiaSensor], list[str]]:
    sensors, reasons = discover_nvidia(
        nvml=nv,
        environ=env or {},
        clock=nv.clock,
        sleep=nv.clock.advance,
        **kw,  # type: ignore[arg-type]
    )
    assert all(isinstance(s, NvidiaSensor) for s in sensors)
    return sensors, reasons  # type: ignore[return-value]


def run(
    sensors: Sequence[NvidiaSensor],
    clock: FakeClock,
    seconds: float,
    dt_s: float,
    pids: tuple[int, ...] | None = None,
) -> list[float]:
    """Step the sensors every ``dt_s`` as the meter would; the energy each reported."""
    prev = Usage(clock(), pids=pids)
    for s in sensors:
        s.begin(prev)
    totals = [0.0] * len(sensors)
    end_s = clock() + seconds
    while clock() < end_s - 1e-9:
        clock.advance(dt_s)
        cur = Usage(clock(), pids=pids)
        for i, s in enumerate(sensors):
            step = s.step(prev, cur)
            assert step.gap is None and step.energy_j >= 0
            totals[i] += step.energy_j
        prev = cur
    return totals


def integral_j(f: Callable[[float], float], t0_s: float, t1_s: float, n: int = 100_000) -> float:
    h = (t1_s - t0_s) / n
    return sum(f(t0_s + (k + 0.5) * h) for k in range(n)) * h


# -- energy ----------------------------------------------------------------------------------
def test_counter_energy_is_the_truth_within_0_1_percent(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [board(0, power_w=sine_load(350, 250, 7.3), power_limit_w=700)])
    (sensor,), reasons = discover(nv)
    assert reasons == []
    info = sensor.info
    assert (info.component, info.method, info.provenance) == (
        Component.GPU, "nvml-total-energy", Provenance.MEASURED,
    )  # fmt: skip
    assert info.uncertainty_pct == 5.0 and sensor.max_interval_s == math.inf
    assert info.device == f"GPU 0 NVIDIA H100 80GB HBM3 ({uuid(0)[:12]})"
    assert info.details["uuid"] == uuid(0) and info.details["power_limit_w"] == 700.0
    assert info.details["driver_version"] == "550.54.15" and info.details["power_scope"] == "gpu"
    t0 = clock()
    (energy_j,) = run([sensor], clock, 300.0, 1.0)
    assert energy_j == pytest.approx(sine_energy_j(350, 250, 7.3, t0, clock()), rel=1e-3)


def square_load(t_s: float) -> float:
    """Training-like bursts: 320 W steps for 0.7 s of every 1.3 s, over 90 W idle, plus a ramp."""
    return (320.0 if (t_s % 1.3) < 0.7 else 90.0) + 20 * math.sin(t_s / 3)


@pytest.mark.parametrize("load", [sine_load(150, 60, 5.0), square_load], ids=["sine", "bursts"])
@pytest.mark.parametrize("instant_field", [True, False], ids=["field", "power-usage"])
def test_pre_volta_integrates_power_within_2_percent(
    clock: FakeClock, load: Callable[[float], float], instant_field: bool
) -> None:
    gpu = board(0, arch="pascal", name="Tesla P100-PCIE-16GB", power_w=load,
                update_period_s=0.05, instant_field=instant_field)  # fmt: skip
    nv = FakeNvml(clock, [gpu])
    (sensor,), _ = discover(nv)
    info = sensor.info
    assert (info.method, info.provenance) == ("nvml-power-integration", Provenance.INTEGRATED)
    assert 10.0 <= info.uncertainty_pct <= 15.0
    assert sensor.max_interval_s == pytest.approx(0.05, abs=0.006)  # the detected update period
    reading = "NVML_FI_DEV_POWER_INSTANT" if instant_field else "nvmlDeviceGetPowerUsage"
    assert info.details["power_reading"] == reading
    assert any("trapezoid" in n and "detected" in n for n in info.notes)
    t0 = clock()
    (energy_j,) = run([sensor], clock, 60.0, sensor.max_interval_s)
    assert energy_j == pytest.approx(integral_j(load, t0, clock()), rel=0.02)


def test_undetected_update_period_uses_the_default_with_a_wider_band(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [board(0, arch="maxwell", power_w=lambda t: 75.0)])  # steady reading
    (sensor,), _ = discover(nv)
    assert sensor.max_interval_s == 0.1 and sensor.info.uncertainty_pct == 15.0
    assert any("assumed" in n for n in sensor.info.notes)
    assert run([sensor], clock, 10.0, 0.1) == [pytest.approx(750.0)]


def test_no_counter_on_ampere_integrates_the_1s_average(clock: FakeClock) -> None:
    """E.g. a vGPU without the energy counter, on a driver without the power fields:
    nvmlDeviceGetPowerUsage is then the 1 s average (Ampere except GA100, and newer)."""
    load = sine_load(200, 100, 20.0)
    gpu = board(0, arch="ampere", counter=False, instant_field=False, power_w=load)
    (sensor,), _ = discover(FakeNvml(clock, [gpu]))
    assert sensor.info.uncertainty_pct == 15.0
    assert any("1 s average" in n for n in sensor.info.notes)
    t0 = clock()
    (energy_j,) = run([sensor], clock, 60.0, sensor.max_interval_s)
    assert energy_j == pytest.approx(integral_j(load, t0, clock()), rel=0.02)


def test_detect_update_period() -> None:
    clock = FakeClock(0.0)

    def read() -> float:
        return float(math.floor(clock() / 0.0625))  # changes every 62.5 ms

    period_s = detect_update_period_s(read, clock, clock.advance, poll_s=0.001)
    assert period_s == pytest.approx(0.0625, abs=0.002)
    assert clock() == pytest.approx(0.5, abs=0.002)  # within the budget
    assert detect_update_period_s(lambda: 1.0, clock, clock.advance) is None


def test_driver_reload_is_a_gap_then_counting_resumes(clock: FakeClock) -> None:
    gpu = board(0, power_w=lambda t: 200.0)
    nv = FakeNvml(clock, [gpu])
    (sensor,), _ = discover(nv)
    prev = Usage(clock())
    clock.advance(1000.0)  # let the counter grow well past what the next second adds
    sensor.begin(prev := Usage(clock()))
    clock.advance(1.0)
    nv.reload_driver(gpu)
    clock.advance(1.0)
    step = sensor.step(prev, cur := Usage(clock()))
    assert step.energy_j == 0.0 and step.gap is not None and "backwards" in step.gap
    clock.advance(1.0)
    assert sensor.step(cur, Usage(clock())).energy_j == pytest.approx(200.0, rel=1e-3)


def test_a_counter_jump_beyond_the_power_limit_is_a_gap(clock: FakeClock) -> None:
    gpu = board(0, power_w=lambda t: 200.0, power_limit_w=300)
    (sensor,), _ = discover(FakeNvml(clock, [gpu]))
    sensor.begin(prev := Usage(clock()))
    gpu._energy_j += 1e6  # a megajoule in a second: not energy, a reset or a glitch
    clock.advance(1.0)
    step = sensor.step(prev, Usage(clock()))
    assert step.energy_j == 0.0 and step.gap is not None and "jumped" in step.gap


def test_failed_reads_are_covered_by_the_next_counter_reading(clock: FakeClock) -> None:
    gpu = board(0, power_w=lambda t: 100.0)
    (sensor,), _ = discover(FakeNvml(clock, [gpu]))
    sensor.begin(u0 := Usage(clock()))
    clock.advance(1.0)
    gpu.failing["nvmlDeviceGetTotalEnergyConsumption"] = NVML_ERROR_UNKNOWN
    with pytest.raises(SensorError) as info:
        sensor.step(u0, u1 := Usage(clock()))
    assert type(info.value) is SensorError and "Unknown Error" in str(info.value)
    assert "\n" not in str(info.value)
    gpu.failing.clear()
    clock.advance(1.0)
    step = sensor.step(u1, Usage(clock()))
    assert step.energy_j == pytest.approx(200.0, rel=1e-3) and step.since_s == u0.t_s


def test_integration_resumes_with_a_new_baseline_after_failed_reads(clock: FakeClock) -> None:
    gpu = board(0, arch="pascal", power_w=lambda t: 100.0, instant_field=False)
    (sensor,), _ = discover(FakeNvml(clock, [gpu]))
    sensor.begin(u0 := Usage(clock()))
    clock.advance(0.1)
    gpu.failing["nvmlDeviceGetPowerUsage"] = NVML_ERROR_UNKNOWN
    with pytest.raises(SensorError):
        sensor.step(u0, u1 := Usage(clock()))
    gpu.failing.clear()
    clock.advance(0.1)
    step = sensor.step(u1, u2 := Usage(clock()))  # no power known at u1: not guessed
    assert step.energy_j == 0.0 and step.gap is not None and "new baseline" in step.gap
    clock.advance(0.1)
    assert sensor.step(u2, Usage(clock())).energy_j == pytest.approx(10.0)


def test_no_permission_is_a_permission_error(clock: FakeClock) -> None:
    gpu = board(0)
    (sensor,), _ = discover(FakeNvml(clock, [gpu]))
    sensor.begin(u0 := Usage(clock()))
    gpu.denied.add("nvmlDeviceGetTotalEnergyConsumption")
    clock.advance(1.0)
    with pytest.raises(SensorPermissionError, match="insufficient permissions") as info:
        sensor.step(u0, Usage(clock()))
    assert "\n" not in str(info.value)


def test_gpu_lost_mid_run_is_a_gap_from_then_on_not_a_crash(clock: FakeClock) -> None:
    lost = board(1, power_w=lambda t: 300.0)
    nv = FakeNvml(clock, [board(0, power_w=lambda t: 100.0), lost])
    sensors, _ = discover(nv)
    lost.lost_at_s = clock() + 5.5
    tracker = wattprint.Tracker(sensors=sensors, clock=clock, background=False, scope="machine")
    tracker.start()
    with pytest.warns(wattprint.WattprintWarning, match="is lost") as caught:
        for _ in range(10):
            clock.advance(1.0)
            tracker.sample()
        reads = nv.calls.count("nvmlDeviceGetTotalEnergyConsumption")
        for _ in range(5):  # no more NVML calls for the lost GPU
            clock.advance(1.0)
            tracker.sample()
        assert nv.calls.count("nvmlDeviceGetTotalEnergyConsumption") - reads == 5  # GPU 0 only
        run_ = tracker.stop()
    assert sum("is lost" in str(w.message) for w in caught) == 1  # one warning, not one per tick
    good, gone = run_.component("gpu")
    assert good.energy_j == pytest.approx(1500.0, rel=1e-3) and good.gap_s == 0
    assert gone.energy_j == pytest.approx(1500.0, rel=1e-3)  # the 5 s before it was lost
    assert gone.gap_s == pytest.approx(10.0)
    assert issubclass(GpuLostError, SensorUnavailableError)


# -- attribution -----------------------------------------------------------------------------
@pytest.fixture
def proc(tmp_path: Path) -> Path:
    """A /proc where pids 10, 11 (ours) and 99 (someone else's) exist."""
    root = tmp_path / "proc"
    for pid in (10, 11, 99):
        (root / str(pid) / "fd").mkdir(parents=True)
    return root


def attributed(
    clock: FakeClock, proc: Path, gpu: FakeGpu, tree: tuple[int, ...] = (10, 11)
) -> tuple[float | None, NvidiaSensor]:
    (sensor,), _ = discover(FakeNvml(clock, [gpu]), proc_dir=proc)
    sensor.begin(prev := Usage(clock(), pids=tree))
    clock.advance(1.0)
    cur = Usage(clock(), pids=tree)
    sensor.step(prev, cur)
    return sensor.attribute(prev, cur), sensor


def test_own_gpu_is_all_ours(clock: FakeClock, proc: Path) -> None:
    share, sensor = attributed(clock, proc, board(0, compute_pids=[10], graphics_pids=[11]))
    assert share == 1.0 and sensor.info.details["attribution"] == "only this job's processes"


def test_someone_elses_gpu_is_none_of_ours(clock: FakeClock, proc: Path) -> None:
    assert attributed(clock, proc, board(0, compute_pids=[99]))[0] == 0.0
    assert attributed(clock, proc, board(0))[0] == 0.0  # idle, nobody on it


def test_shared_gpu_is_split_by_sm_utilisation(clock: FakeClock, proc: Path) -> None:
    gpu = board(0, compute_pids=[10, 99], sm_util={10: 60, 99: 20})
    share, sensor = attributed(clock, proc, gpu)
    assert share == pytest.approx(0.75)
    assert sensor.info.details["attribution"] == "SM utilisation"
    assert COUNT_NOTE not in sensor.info.notes


def test_shared_gpu_without_utilisation_is_split_by_process_count(
    clock: FakeClock, proc: Path
) -> None:
    gpu = board(0, compute_pids=[10, 11, 99], sm_util={10: 50}, util_supported=False)
    share, sensor = attributed(clock, proc, gpu)
    assert share == pytest.approx(2 / 3)
    assert sensor.info.details["attribution"] == "process count"
    assert COUNT_NOTE in sensor.info.notes and "split by process count" in COUNT_NOTE


def test_process_queries_are_rate_limited(clock: FakeClock, proc: Path) -> None:
    """NVML's process queries cost milliseconds: asked every 5 s, and when the tree changes."""
    gpu = board(0, compute_pids=[10, 99], sm_util={10: 30, 99: 10})
    nv = FakeNvml(clock, [gpu])
    (sensor,), _ = discover(nv, proc_dir=proc)
    sensor.begin(prev := Usage(clock(), pids=(10,)))
    shares = []
    for k in range(12):
        clock.advance(1.0)
        cur = Usage(clock(), pids=(10,) if k < 8 else (10, 11))
        sensor.step(prev, cur)
        shares.append(sensor.attribute(prev, cur))
        prev = cur
        if k == 2:
            gpu.sm_util = {10: 10, 99: 30}
    assert nv.calls.count("nvmlDeviceGetComputeRunningProcesses") == 3  # at 1 s, 6 s, 9 s
    assert shares == [0.75] * 5 + [0.25] * 7


def test_unreadable_process_list_is_unknown_not_a_crash(clock: FakeClock, proc: Path) -> None:
    gpu = board(0, compute_pids=[10], denied={"nvmlDeviceGetComputeRunningProcesses"})
    share, sensor = attributed(clock, proc, gpu)
    assert share is None and "unknown" in str(sensor.info.details["attribution"])


def test_container_host_pids(clock: FakeClock, proc: Path) -> None:
    """NVML lists host pids (here 48123), which don't exist in the container's /proc."""
    share, _ = attributed(clock, proc, board(0, compute_pids=[48123]))
    assert share == 0.0  # our tree does not hold the GPU open: a CPU-only job
    os.symlink("/dev/nvidia0", proc / "11" / "fd" / "5")  # now it does (after a ~10 s recheck)
    share, sensor = attributed(clock, proc, board(0, compute_pids=[48123]))
    assert share == 1.0 and any("PID namespace" in n for n in sensor.info.notes)
    share, _ = attributed(clock, proc, board(0, compute_pids=[48123, 48124]))
    assert share is None  # two foreign processes: which is ours is unknown


def test_tracker_end_to_end_in_process_scope(clock: FakeClock) -> None:
    """Two GPUs: ours (this test process has a context on it) and a neighbour's."""
    load = sine_load(250, 100, 4.0)
    ours = board(0, power_w=load, compute_pids=[os.getpid()])
    theirs = board(1, power_w=lambda t: 300.0, compute_pids=[1])
    nv = FakeNvml(clock, [ours, theirs])
    sensors, reasons = discover(nv, {"CUDA_VISIBLE_DEVICES": "0,1"})
    assert reasons == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        tracker = wattprint.Tracker(sensors=sensors, clock=clock, background=False, scope="process")
        tracker.start()
        t0 = clock()
        tracker.begin_window("epoch")
        for _ in range(30):
            clock.advance(1.0)
            tracker.sample()
        window = tracker.end_window("epoch")
        run_ = tracker.stop()
    truth_j = sine_energy_j(250, 100, 4.0, t0, clock())
    mine, other = run_.component("gpu")
    assert mine.energy_j == pytest.approx(truth_j, rel=1e-3)
    assert mine.provenance == "measured" and mine.method == "nvml-total-energy"
    assert mine.details["attribution"] == "only this job's processes"
    assert other.energy_j == 0.0 and other.gap_s == 0.0
    assert window.components[0].energy_j == pytest.approx(truth_j, rel=1e-3)
    assert nv.init_count == 0  # stop() closed the sensors, so NVML was shut down
    tracker.start()  # a Tracker may be reused: the sensors reopen NVML
    clock.advance(2.0)
    assert tracker.stop().component("gpu")[0].energy_j == pytest.approx(
        sine_energy_j(250, 100, 4.0, clock() - 2.0, clock()), rel=1e-2
    )


# -- device selection --------------------------------------------------------------------------
def four(clock: FakeClock, **kw: object) -> FakeNvml:
    return FakeNvml(clock, [board(n, **kw) for n in range(4)])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, [0, 1, 2, 3]),
        ({"CUDA_VISIBLE_DEVICES": "2,0"}, [2, 0]),
        ({"CUDA_VISIBLE_DEVICES": f"{uuid(3)},{uuid(1)}"}, [3, 1]),
        ({"CUDA_VISIBLE_DEVICES": f"{uuid(2)[:9]}"}, [2]),  # a prefix, "GPU-" included
        ({"CUDA_VISIBLE_DEVICES": "1,9,2"}, [1]),  # invalid entry: the rest is ignored
        ({"CUDA_VISIBLE_DEVICES": "3,-1,2"}, [3]),
        ({"CUDA_VISIBLE_DEVICES": "1,1"}, []),
        ({"CUDA_VISIBLE_DEVICES": ""}, []),
    ],
)
def test_cuda_visible_devices(clock: FakeClock, env: dict[str, str], expected: list[int]) -> None:
    sensors, reasons = discover(four(clock), env)
    assert [s.info.details["index"] for s in sensors] == expected
    assert [s.info.details["cuda_index"] for s in sensors] == list(range(len(expected)))
    value = env.get("CUDA_VISIBLE_DEVICES")
    assert bool(reasons) == (value is not None and len(expected) < len(value.split(",")))


def test_empty_cuda_visible_devices_says_why(clock: FakeClock) -> None:
    assert discover(four(clock), {"CUDA_VISIBLE_DEVICES": ""}) == (
        [], ["CUDA_VISIBLE_DEVICES is empty: CUDA sees no GPU"],
    )  # fmt: skip


def test_mig_instance_reports_its_parent_gpu_whole(clock: FakeClock) -> None:
    mig = "MIG-1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f"
    nv = FakeNvml(clock, [board(0), board(1, arch="ga100", migs=[mig, mig.replace("1c", "2c")])])
    (sensor,), reasons = discover(nv, {"CUDA_VISIBLE_DEVICES": mig})
    assert reasons == [] and sensor.info.details["index"] == 1
    assert sensor.info.details["mig"] == [mig]
    assert any("whole GPU" in n for n in sensor.info.notes)
    (sensor,), _ = discover(nv, gpu_ids=[mig[:12]])
    assert sensor.info.details["mig"] == [mig]


def test_gpu_ids_relative_to_cuda_visible_devices(clock: FakeClock) -> None:
    nv = four(clock)
    env = {"CUDA_VISIBLE_DEVICES": "3,2"}
    sensors, _ = discover(nv, env, gpu_ids=[1])
    assert [s.info.details["index"] for s in sensors] == [2]
    sensors, _ = discover(nv, env, gpu_ids=[uuid(0), "0"])
    assert [s.info.details["index"] for s in sensors] == [0, 3]
    with pytest.raises(ConfigError, match="only 2 GPU"):
        discover(nv, env, gpu_ids=[2])
    assert nv.init_count == 2  # one per discovery whose sensors are open; the failed one let go


def test_cuda_order_caveat_on_mixed_models(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [board(0), board(1, name="NVIDIA A10", arch="ampere")])
    sensors, _ = discover(nv, {"CUDA_VISIBLE_DEVICES": "0"})
    assert any("CUDA_DEVICE_ORDER" in n for n in sensors[0].info.notes)
    sensors, _ = discover(nv, {"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    assert sensors[0].info.notes == ()


def test_environ_defaults_to_the_process_environment(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    sensors, _ = discover_nvidia(nvml=four(clock), clock=clock, sleep=clock.advance)
    assert [s.info.details["index"] for s in sensors] == [1]  # type: ignore[attr-defined]


# -- Grace Hopper --------------------------------------------------------------------------
def test_gh200_module_scope_is_recorded_and_warned(clock: FakeClock) -> None:
    gh = board(0, name="NVIDIA GH200 480GB", power_w=lambda t: 500.0, module_extra_w=150.0)
    (sensor,), _ = discover(FakeNvml(clock, [gh]))
    assert sensor.info.details["power_scope"] == "module"
    assert MODULE_NOTE in sensor.info.notes and "counted twice" in MODULE_NOTE
    assert sensor.info.warning is not None and "Grace CPU" in sensor.info.warning
    assert run([sensor], clock, 10.0, 1.0) == [pytest.approx(6500.0, rel=1e-3)]


# -- availability ------------------------------------------------------------------------------
def test_import_wattprint_does_not_import_pynvml(tmp_path: Path) -> None:
    """With a pynvml on the path (a stand-in that records being imported), importing
    wattprint and its NVIDIA modules leaves it alone."""
    (tmp_path / "pynvml.py").write_text("import sys\nsys.stderr.write('pynvml imported')\n")
    code = textwrap.dedent(
        """
        import sys
        import wattprint
        import wattprint.sensors.gpu.nvidia, wattprint.sensors.gpu.nvml_api
        wattprint.Tracker(scope="machine", db=False)
        assert "pynvml" not in sys.modules, "pynvml imported"
        """
    )
    src = Path(wattprint.__file__).parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), str(tmp_path)]),
        "WATTPRINT_DB": str(tmp_path / "db.sqlite3"),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pynvml imported" not in done.stderr


def test_without_nvidia_ml_py_the_reason_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    assert discover_nvidia(environ={}) == ([], [NOT_INSTALLED])
    assert "pip install 'wattprint[nvidia]'" in NOT_INSTALLED


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "NVML could not load libnvidia-ml (no NVIDIA driver)"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "the NVIDIA driver is not loaded"),
    ],
)
def test_no_driver_is_a_reason(clock: FakeClock, code: int, reason: str) -> None:
    sensors, reasons = discover(FakeNvml(clock, [board(0)], init_error=code))
    assert sensors == [] and reasons[0].startswith(reason)


def test_no_gpus(clock: FakeClock) -> None:
    nv = FakeNvml(clock, [])
    assert discover(nv) == ([], ["no NVIDIA GPUs"])
    assert nv.init_count == 0


def test_nvml_is_shut_down_only_when_every_sensor_is_closed(clock: FakeClock) -> None:
    nv = four(clock)
    sensors, _ = discover(nv)
    assert nv.init_count == 1  # one nvmlInit for the lot
    for s in sensors[:-1]:
        s.close()
        s.close()  # idempotent
    assert nv.init_count == 1
    sensors[-1].close()
    assert nv.init_count == 0


def test_hints_for_idle_gpus_and_windows_too_short_to_read() -> None:
    """The tracker says when a GPU idled through a run, and when a window was too short for
    the counter to move (it would read 0 J)."""
    import warnings as _warnings

    import wattprint
    from tests.fakes import FakeClock
    from tests.fakes_nvml import FakeGpu, FakeNvml
    from wattprint.sensors.gpu.nvidia import discover_nvidia

    clock = FakeClock(0.0)
    nvml = FakeNvml(clock, [FakeGpu(gpu_util_pct=lambda t: 3)])
    sensors, _ = discover_nvidia(nvml=nvml, environ={}, clock=clock, sleep=clock.advance)
    tracker = wattprint.Tracker(
        sensors=sensors, clock=clock, background=False, scope="machine", db=False, sync="off"
    ).start()
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        for _ in range(10):
            clock.advance(1.0)
            tracker.sample()
        tracker.begin_window("tiny")
        tracker.end_window("tiny")  # no time passes: the counter cannot move
        run = tracker.stop()
    messages = [str(w.message) for w in caught]
    assert any("idle for most of the run" in m for m in messages)
    assert any("read 0 J" in m for m in messages)
    assert run.components[0].details["mean_utilization_pct"] == pytest.approx(3.0)
