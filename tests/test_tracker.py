from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import pytest

import wattprint
from tests.fakes import (
    RECORD_COMPONENT_KEYS,
    RECORD_KEYS,
    FakeClock,
    FakeProc,
    intel_two_socket,
)
from wattprint.errors import ConfigError, TrackerStateError
from wattprint.sensors.cpu_model import GENERIC_W_PER_THREAD, IDLE_FRACTION
from wattprint.sensors.discovery import HardwareOptions
from wattprint.sensors.ram_model import W_PER_GB


def model_tracker(
    proc: FakeProc, tmp_path: Path, clock: FakeClock, **kw: object
) -> wattprint.Tracker:
    hw = HardwareOptions(
        powercap_dir=tmp_path / "no-powercap",
        proc_dir=proc.root,
        cgroup_root=tmp_path / "no-cgroup",
        storage=False,
    )
    return wattprint.Tracker(hardware=hw, clock=clock, background=False, **kw)  # type: ignore[arg-type]


def test_model_energy_follows_cpu_time_exactly(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    """Gold 6248: 150 W over 2 logical CPUs (bare metal, one socket) → 75 W per thread."""
    fake_proc.add_process(4242, 1)
    tracker = model_tracker(fake_proc, tmp_path, clock, pid=4242, scope="process").start()
    for _ in range(10):  # 10 s: one CPU busy, all of it our process
        clock.advance(1.0)
        fake_proc.run_for(1.0, busy_cpus=1.0, proc_cpus={4242: 1.0})
        tracker.sample()
    tracker.begin_window("two-threads")
    for _ in range(10):  # 10 s: both CPUs busy, ours uses 1.5 of them
        clock.advance(1.0)
        fake_proc.run_for(1.0, busy_cpus=2.0, proc_cpus={4242: 1.5})
        tracker.sample()
    window = tracker.end_window("two-threads")
    run = tracker.stop()
    max_w = 150.0
    idle_w = IDLE_FRACTION * max_w
    first = (idle_w + (max_w - idle_w) * 0.5) * 10 * 1.0
    second = (idle_w + (max_w - idle_w) * 1.0) * 10 * 0.75
    cpu = run.component("cpu")[0]
    assert cpu.energy_j == pytest.approx(first + second, rel=1e-9)
    assert window.components[0].energy_j == pytest.approx(second, rel=1e-9)
    assert cpu.provenance == "estimated"
    assert cpu.details["matched_name"] == "Intel Xeon Gold 6248"
    assert cpu.details["tdp_w"] == 150.0
    assert 0 < cpu.uncertainty_pct < 50


def test_machine_scope_counts_everyone(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine").start()
    clock.advance(4.0)
    fake_proc.run_for(4.0, busy_cpus=2.0)
    run = tracker.stop()
    assert run.component("cpu")[0].energy_j == pytest.approx(150.0 * 4)
    ram = run.component("ram")[0]
    used_gb = (fake_proc.mem_total_kb - fake_proc.mem_available_kb) * 1024 / 1e9
    assert ram.energy_j == pytest.approx(W_PER_GB * used_gb * 4)
    assert ram.provenance == "estimated"


def test_process_ram_is_its_share_of_used_memory(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    from tests.fakes import PAGE_SIZE_B

    fake_proc.add_process(10, 1, rss_pages=250_000)
    fake_proc.add_process(11, 10, rss_pages=250_000)  # a child: in the tree
    fake_proc.add_process(12, 1, rss_pages=900_000)  # not ours
    tracker = model_tracker(fake_proc, tmp_path, clock, pid=10).start()
    clock.advance(10.0)
    fake_proc.run_for(10.0, busy_cpus=1.0, proc_cpus={10: 0.5, 11: 0.25})
    run = tracker.stop()
    rss_gb = 500_000 * PAGE_SIZE_B / 1e9
    assert run.component("ram")[0].energy_j == pytest.approx(W_PER_GB * rss_gb * 10)
    # CPU: our tree used 0.75 of the 1.0 busy CPU
    max_w, idle_w = 150.0, IDLE_FRACTION * 150.0
    assert run.component("cpu")[0].energy_j == pytest.approx(
        (idle_w + (max_w - idle_w) * 0.5) * 10 * 0.75
    )


def test_reaped_child_time_is_kept(fake_proc: FakeProc, tmp_path: Path, clock: FakeClock) -> None:
    fake_proc.add_process(10, 1)
    fake_proc.add_process(11, 10)
    tracker = model_tracker(fake_proc, tmp_path, clock, pid=10, scope="process").start()
    clock.advance(2.0)
    fake_proc.run_for(2.0, busy_cpus=1.0, proc_cpus={11: 1.0})
    fake_proc.remove_process(11)  # exits and is waited for between two reads
    run = tracker.stop()
    max_w, idle_w = 150.0, IDLE_FRACTION * 150.0
    assert run.component("cpu")[0].energy_j == pytest.approx((idle_w + (max_w - idle_w) * 0.5) * 2)


def test_unknown_cpu_is_generic_with_one_warning(tmp_path: Path, clock: FakeClock) -> None:
    proc = FakeProc(
        tmp_path / "proc", model_name="Intel(R) Xeon(R) Processor", cpus=4, hypervisor=True
    )
    tracker = model_tracker(proc, tmp_path, clock, scope="machine").start()
    for _ in range(3):
        clock.advance(1.0)
        proc.run_for(1.0, busy_cpus=4.0)
        tracker.sample()
    run = tracker.stop()
    cpu = run.component("cpu")[0]
    assert cpu.energy_j == pytest.approx(GENERIC_W_PER_THREAD * 4 * 3)
    assert cpu.details["basis"] == "generic" and cpu.details["matched_name"] is None
    assert cpu.uncertainty_pct >= 60
    assert any("cpu_tdp_w" in n and "WATTPRINT_CPU_TDP_W" in n and "vCPUs" in n for n in cpu.notes)
    assert len([w for w in run.warnings if "names no known model" in w]) == 1


def test_tdp_override_from_argument_and_env(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine", cpu_tdp_w=40).start()
    clock.advance(1.0)
    fake_proc.run_for(1.0, busy_cpus=2.0)
    assert tracker.stop().component("cpu")[0].energy_j == pytest.approx(40.0)
    monkeypatch.setenv("WATTPRINT_CPU_TDP_W", "60")
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine").start()
    clock.advance(1.0)
    fake_proc.run_for(1.0, busy_cpus=2.0)
    cpu = tracker.stop().component("cpu")[0]
    assert cpu.energy_j == pytest.approx(60.0)
    assert cpu.details["basis"] == "override"


def test_cpu_model_override_by_env(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATTPRINT_CPU_MODEL", "AMD EPYC 7763 64-Core Processor")
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine").start()
    clock.advance(1.0)
    run = tracker.stop()
    assert run.component("cpu")[0].details["tdp_w"] == 280.0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"interval_s": -1}, "interval_s"),
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": math.nan}, "interval_s"),
        ({"pue": 0.9}, ">= 1.0"),
        ({"pue": "1.2"}, "number"),
        ({"scope": "node"}, "scope='process'"),
        ({"project": ""}, "project"),
        ({"cpu_tdp_w": -5}, "watts"),
        ({"zone": "Atlantis"}, "unknown zone"),
    ],
)
def test_bad_arguments_are_one_line_config_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        wattprint.Tracker(**kwargs)  # type: ignore[arg-type]
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_tdp_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTPRINT_CPU_TDP_W", "lots")
    with pytest.raises(ConfigError, match="WATTPRINT_CPU_TDP_W"):
        wattprint.Tracker()


def test_state_errors(fake_proc: FakeProc, tmp_path: Path, clock: FakeClock) -> None:
    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine")
    with pytest.raises(TrackerStateError, match="not running"):
        tracker.stop()
    tracker.start()
    with pytest.raises(TrackerStateError, match="already running"):
        tracker.start()
    with pytest.raises(TrackerStateError, match="no open window"):
        tracker.end_window("nope")
    tracker.begin_window("a")
    with pytest.raises(TrackerStateError, match="already open"):
        tracker.begin_window("a")
    with pytest.warns(UserWarning, match="still open"):
        run = tracker.stop()
    assert [w.name for w in run.windows] == ["a"]


def test_windows_nest_and_overlap(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    tracker = wattprint.Tracker(scope="machine", hardware=hw, clock=clock, background=False).start()

    def burn(seconds: int) -> None:
        clock.advance(seconds)
        pc.zones["intel-rapl:0"].add_energy_j(100.0 * seconds)

    tracker.begin_window("epoch")
    burn(1)
    tracker.begin_window("eval")  # nested
    burn(2)
    tracker.begin_window("overlap")
    burn(3)
    tracker.end_window("epoch")  # closes before "eval" and "overlap": overlapping
    burn(4)
    tracker.end_window("eval")
    tracker.end_window("overlap")
    run = tracker.stop()
    cpu = {
        w.name: next(c.energy_j for c in w.components if c.device == "package-0")
        for w in run.windows
    }
    assert cpu == pytest.approx({"epoch": 600.0, "eval": 900.0, "overlap": 700.0})


def test_record_shape_and_co2(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    out = tmp_path / "run.json"
    tracker = wattprint.Tracker(
        project="p",
        zone="fr",
        pue=1.2,
        scope="machine",
        hardware=hw,
        clock=clock,
        background=False,
        json_path=out,
    ).start()
    for _ in range(60):  # 0.1 kWh in an hour, read every minute as the sampler would
        clock.advance(60.0)
        pc.zones["intel-rapl:0"].add_energy_j(3.6e6 * 0.1 / 60)
        tracker.sample()
    run = tracker.stop()
    d = json.loads(out.read_text())
    assert set(d) >= RECORD_KEYS
    assert d["started_at"].endswith("Z")
    for c in d["components"]:
        assert set(c) >= RECORD_COMPONENT_KEYS
    assert run.energy_kwh == pytest.approx(0.1, rel=1e-4)
    assert run.zone == "FR" and "Ember" in (run.intensity_source or "")
    assert run.co2_kg == pytest.approx(0.1 * 1.2 * run.intensity_g_per_kwh / 1000, rel=1e-4)
    assert d == json.loads(run.to_json())


def test_no_zone_means_no_co2_not_a_guess(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    run = (
        wattprint.Tracker(scope="machine", hardware=hw, clock=clock, background=False)
        .start()
        .stop()
    )
    assert run.zone is None and run.co2_kg is None and run.intensity_g_per_kwh is None


def test_zone_from_env_and_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTPRINT_ZONE", "de")
    assert wattprint.Tracker().carbon.intensity.zone == "DE"  # type: ignore[union-attr]
    assert wattprint.Tracker(zone="World").carbon.intensity.zone == "WORLD"  # type: ignore[union-attr]


def test_decorator_propagates_and_records(tmp_path: Path) -> None:
    class BoomError(Exception):
        pass

    @wattprint.track(scope="machine", interval_s=0.05)
    def fails(x: int) -> int:
        raise BoomError(f"bad {x}")

    with pytest.raises(BoomError, match="bad 3") as info:
        fails(3)
    assert type(info.value) is BoomError
    run = fails.last_run  # type: ignore[attr-defined]
    assert run is not None and run.error == "BoomError: bad 3"
    assert run.project.endswith("fails")

    @wattprint.track(project="ok")
    def works() -> int:
        return 7

    assert works() == 7
    assert works.last_run.project == "ok" and works.last_run.error is None  # type: ignore[attr-defined]


def test_decorator_validates_options_at_decoration() -> None:
    with pytest.raises(ConfigError):
        wattprint.track(pue=0.5)(lambda: None)


def test_async_decorator() -> None:
    import asyncio

    @wattprint.track(scope="machine")
    async def work() -> str:
        await asyncio.sleep(0)
        return "done"

    assert asyncio.run(work()) == "done"
    assert work.last_run is not None  # type: ignore[attr-defined]


def test_real_machine_end_to_end_with_background_sampler() -> None:
    """On this machine (no RAPL): the sampler runs, the record is complete and non-negative."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with wattprint.Tracker(interval_s=0.02, db=False) as tracker:
            deadline = __import__("time").monotonic() + 0.3
            while __import__("time").monotonic() < deadline:
                sum(i * i for i in range(1000))
    run = tracker.run
    assert run is not None
    assert run.samples >= 5
    assert run.energy_kwh > 0
    assert all(c.energy_kwh >= 0 for c in run.components)
    assert {c.name for c in run.components} >= {"cpu", "ram"}


def test_forked_child_cannot_use_the_parents_tracker(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("POSIX only")
    from wattprint.sampler import shared_sampler

    tracker = wattprint.Tracker(interval_s=0.05, scope="machine").start()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            code = 0
            try:
                tracker.stop()
                code = 1
            except TrackerStateError:
                pass
            if shared_sampler().running:  # inherited no thread, and must not pretend to
                code = 2
            child = wattprint.Tracker(interval_s=0.01, scope="machine").start()
            __import__("time").sleep(0.1)
            if not shared_sampler().running:
                code = 3
            child.stop()
            os.write(w, bytes([code]))
        finally:
            os._exit(0)
    os.close(w)
    code = os.read(r, 1)
    os.waitpid(pid, 0)
    assert code == bytes([0])
    assert tracker.stop().energy_kwh >= 0


def test_child_of_a_worker_thread_found_late_keeps_its_energy(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    """A process forked by a non-main thread is only seen by the full walk (every 10 s). Its
    CPU time then arrives in one interval, and must not be cut to that interval's share."""
    fake_proc.add_process(10, 1, threads=(11,))
    tracker = model_tracker(fake_proc, tmp_path, clock, pid=10).start()
    fake_proc.add_process(20, 10, parent_tid=11)
    for _ in range(20):
        clock.advance(1.0)
        fake_proc.run_for(1.0, busy_cpus=1.0, proc_cpus={20: 1.0})
        assert tracker.meter is not None
        tracker.meter.tick()
    run = tracker.stop()
    max_w, idle_w = 150.0, IDLE_FRACTION * 150.0
    assert run.component("cpu")[0].energy_j == pytest.approx(
        (idle_w + (max_w - idle_w) * 0.5) * 20, rel=1e-6
    )


def test_child_of_the_main_thread_is_seen_within_a_tick(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    fake_proc.add_process(10, 1)
    tracker = model_tracker(fake_proc, tmp_path, clock, pid=10).start()
    fake_proc.add_process(20, 10)  # like `wattprint run` starting its command after start()
    max_w, idle_w = 150.0, IDLE_FRACTION * 150.0
    for second in range(1, 6):
        clock.advance(1.0)
        fake_proc.run_for(1.0, busy_cpus=1.0, proc_cpus={20: 1.0})
        assert tracker.meter is not None
        snap = tracker.meter.tick()
        assert snap.energy_j[0] == pytest.approx((idle_w + (max_w - idle_w) * 0.5) * second)
    tracker.stop()


def test_a_tracker_can_be_reused_and_closes_its_files(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    tracker = wattprint.Tracker(scope="machine", hardware=hw, clock=clock, background=False)
    fds_before = len(os.listdir("/proc/self/fd"))
    for energy_j in (100.0, 250.0):
        tracker.start()
        tracker.begin_window("w")
        clock.advance(1.0)
        pc.zones["intel-rapl:0"].add_energy_j(energy_j)
        tracker.end_window("w")
        run = tracker.stop()
        assert [w.name for w in run.windows] == ["w"]  # not the previous run's too
        assert run.component("cpu")[0].energy_j == pytest.approx(energy_j, rel=1e-4)
    assert len(os.listdir("/proc/self/fd")) == fds_before


def test_stop_failure_does_not_mask_the_users_exception(tmp_path: Path, clock: FakeClock) -> None:
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    out = tmp_path / "out" / "run.json"
    (tmp_path / "out").mkdir()
    tracker = wattprint.Tracker(hardware=hw, clock=clock, background=False, json_path=out)
    (tmp_path / "out").rmdir()  # the record can no longer be written at stop()
    with (
        pytest.raises(ValueError, match="the user's"),
        pytest.warns(UserWarning, match="record"),
        tracker,
    ):
        raise ValueError("the user's")


def test_unwritable_json_path_is_rejected_up_front(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        wattprint.Tracker(json_path=tmp_path / "missing" / "run.json")
    with pytest.raises(ConfigError, match="directory"):
        wattprint.Tracker(json_path=tmp_path)


def test_interval_is_bounded() -> None:
    with pytest.raises(ConfigError, match="3600"):
        wattprint.Tracker(interval_s=1e10)


def test_decorated_function_runs_even_if_measuring_cannot_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @wattprint.track(scope="machine")
    def work() -> int:
        return 5

    def broken(self: object) -> object:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(wattprint.Tracker, "start", broken)
    with pytest.warns(UserWarning, match="not measuring"):
        assert work() == 5


def test_ticks_racing_stop_leave_no_open_files(tmp_path: Path) -> None:
    """A tick already in flight when stop() removes the meter must not reopen its files."""
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir)
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        tracker = wattprint.Tracker(scope="machine", hardware=hw, interval_s=0.01).start()
        __import__("time").sleep(0.02)
        assert tracker.meter is not None
        meter = tracker.meter
        tracker.stop()
        assert meter.tick() is None  # a late tick is a no-op
    __import__("time").sleep(0.05)
    assert len(os.listdir("/proc/self/fd")) == fds_before


def test_pue_keywords() -> None:
    from wattprint.carbon.cloud import region_pue
    from wattprint.settings import DATACENTER_PUE

    assert wattprint.Tracker(pue="datacenter", db=False).pue == DATACENTER_PUE
    published = region_pue("gcp:europe-north1")
    assert published is not None and published >= 1.0
    assert wattprint.Tracker(pue="cloud", zone="gcp:europe-north1", db=False).pue == published
    with pytest.raises(ConfigError, match="cloud region"):
        wattprint.Tracker(pue="cloud", zone="DE", db=False)
    assert wattprint.Tracker(pue="cloud", zone="azure:westeurope", db=False).pue == 1.16
    with pytest.raises(ConfigError, match="no published PUE") as info:
        wattprint.Tracker(pue="cloud", zone="azure:eastus", db=False)
    assert "azure:northeurope" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="datacenter"):
        wattprint.Tracker(pue="lots", db=False)


def _reaped_pid() -> int:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"cpu_model": 123}, "cpu_model=123 must be text"),
        ({"experiment": {}}, "experiment={} must be text"),
        ({"pid": -1}, "not a process id"),
        ({"pid": 2**40}, "not a process id"),
        ({"pid": "1"}, "not a process id"),
        ({"command": "ls -la"}, "list of strings"),
        ({"db": 123}, "db=123 must be text"),
        ({"json_path": 123}, "not a file path"),
        ({"json_path": ""}, "not a file path"),
        ({"tags": "a,b"}, None),  # a string is split like the flag
        ({"tags": ["ok", "bad\nline"]}, "control characters"),
        ({"project": "x\udcff"}, "not valid UTF-8"),
        ({"zoen": "DE"}, "unknown setting"),
    ],
)
def test_hostile_tracker_arguments_are_one_line_config_errors(
    kwargs: dict[str, object], words: str | None
) -> None:
    if words is None:
        assert wattprint.Tracker(db=False, **kwargs).tags == ("a", "b")  # type: ignore[arg-type]
        return
    with pytest.raises(ConfigError) as info:
        wattprint.Tracker(**{"db": False, **kwargs})  # type: ignore[arg-type]
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_pid_of_no_process_is_refused() -> None:
    with pytest.raises(ConfigError, match="no running process"):
        wattprint.Tracker(pid=_reaped_pid(), db=False)


def test_a_window_per_step_stays_bounded(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    """Tens of thousands of windows (one per training step) keep the record bounded: the
    first KEPT as they are, then one merged window per name, then one for the rest; energy
    is conserved and the merge is said once."""
    from wattprint.records.build import WindowLog

    tracker = model_tracker(fake_proc, tmp_path, clock, scope="machine").start()
    n = WindowLog.KEPT + 5_000
    all_kwh = 0.0
    late_step_kwh = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(n):
            name = "step" if i % 2 else f"eval-{i}"
            tracker.begin_window(name)
            clock.advance(0.01)
            fake_proc.run_for(0.01, busy_cpus=1.0)
            w = tracker.end_window(name)
            all_kwh += w.energy_kwh
            if i >= WindowLog.KEPT and name == "step":
                late_step_kwh += w.energy_kwh
    run = tracker.stop()
    assert len(run.windows) <= WindowLog.KEPT + WindowLog.NAMES + 1
    assert sum(w.count for w in run.windows) == n
    assert sum(w.energy_kwh for w in run.windows) == pytest.approx(all_kwh)  # none lost
    assert all_kwh > 0
    merged = {w.name: w for w in run.windows if w.count > 1}
    assert "step" in merged and WindowLog.OVERFLOW in merged
    assert merged["step"].energy_kwh == pytest.approx(late_step_kwh)
    assert merged["step"].duration_s == pytest.approx(0.01 * merged["step"].count)
    said = [w for w in caught if "merged per name" in str(w.message)]
    assert len(said) == 1
    assert len(run.to_json()) < 5_000_000
