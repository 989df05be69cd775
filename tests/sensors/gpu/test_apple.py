from __future__ import annotations

import io
import itertools
import os
import plistlib
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import FakeClock
from wattprint.errors import SensorError, SensorPermissionError
from wattprint.sensors.base import Component, Provenance, Usage
from wattprint.sensors.gpu.apple import (
    DOMAINS,
    PowermetricsReader,
    PowermetricsSensor,
    discover_apple,
    sample_from_text,
    split_documents,
)

FIXTURES = Path(__file__).parent / "fixtures"
M1_PLIST = (FIXTURES / "powermetrics_m1_macos12.plist").read_bytes()
M2_PLIST = (FIXTURES / "powermetrics_m2pro_macos14.plist").read_bytes()
M1_TEXT = (FIXTURES / "powermetrics_m1_text.txt").read_bytes()
NOT_ROOT = (FIXTURES / "powermetrics_not_root.txt").read_bytes()
# Energy per sample in J (cpu, gpu, ane), as make_powermetrics.py wrote them.
M1_J = [(1.236, 0.412, 0.0), (5.874, 1.280, 0.0), (0.889, 0.038, 0.0)]
M2_J = [(2.950, 7.400, 0.0), (3.120, 7.650, 1.210), (0.610, 0.095, 0.015)]


class FakeProcess:
    """A stand-in for subprocess.Popen: stdout from a pipe the test writes, or fixed bytes."""

    def __init__(self, stdout: IO[bytes], stderr: bytes = b"", returncode: int | None = None):
        self.stdout: IO[bytes] | None = stdout
        self.stderr: IO[bytes] | None = io.BytesIO(stderr)
        self.returncode = returncode
        self.terminated = False

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True
        if self.returncode is None:
            self.returncode = -15

    def kill(self) -> None:
        self.terminate()

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode or 0


class Runner:
    """Records each argv; returns the processes it was given, in turn."""

    def __init__(self, *procs: FakeProcess) -> None:
        self.procs, self.argvs = list(procs), []  # type: ignore[var-annotated]

    def __call__(self, argv: Sequence[str]) -> FakeProcess:
        self.argvs.append(list(argv))
        return self.procs.pop(0)


def exited(stderr: bytes, code: int = 1) -> FakeProcess:
    return FakeProcess(io.BytesIO(b""), stderr, code)


def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def totals(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {d: sum(r[i] for r in rows) for i, d in enumerate(DOMAINS)}


def test_not_macos_returns_at_once() -> None:
    assert discover_apple(platform="linux") == ([], ["not macOS"])
    assert discover_apple(platform="win32") == ([], ["not macOS"])


def test_intel_mac_is_not_apple_silicon() -> None:
    sensors, reasons = discover_apple(platform="darwin", machine="x86_64", runner=Runner())
    assert sensors == [] and reasons[0].startswith("not Apple Silicon")


@pytest.mark.parametrize(
    "stderr",
    [NOT_ROOT, b"sudo: a password is required\n", b"alice is not in the sudoers file.\n"],
)
def test_permission_denied_is_one_line_naming_the_fix(stderr: bytes) -> None:
    runner = Runner(exited(stderr))
    sensors, reasons = discover_apple(
        platform="darwin", machine="arm64", runner=runner, is_root=False, startup_s=0
    )
    assert sensors == [] and len(reasons) == 1
    assert "sudo wattprint" in reasons[0] and "\n" not in reasons[0]
    assert runner.argvs[0][:2] == ["sudo", "-n"]  # never prompts for a password


def test_command_line() -> None:
    runner = Runner(exited(b"boom"))
    discover_apple(platform="darwin", machine="arm64", runner=runner, is_root=True, startup_s=0)
    argv = runner.argvs[0]
    assert argv[0].endswith("powermetrics")
    assert argv[1:] == ["--samplers", "cpu_power,gpu_power", "-i", "1000", "-f", "plist", "-b", "1"]


def test_plist_stream_parses_per_domain_energy() -> None:
    reader = PowermetricsReader(fmt="plist")
    assert reader.feed(M1_PLIST) == 3
    assert reader.done_j == pytest.approx(totals(M1_J))
    reader = PowermetricsReader(fmt="plist")
    reader.feed(M2_PLIST)  # power x elapsed_ns; gpu_energy under "gpu"
    assert reader.done_j == pytest.approx(totals(M2_J), rel=1e-9)
    assert reader.bad_documents == 0


@settings(max_examples=50, deadline=None)
@given(cuts=st.lists(st.integers(1, len(M2_PLIST) - 1), max_size=30, unique=True))
def test_documents_survive_any_chunking(cuts: list[int]) -> None:
    reader = PowermetricsReader(fmt="plist")
    edges = [0, *sorted(cuts), len(M2_PLIST)]
    for a, b in itertools.pairwise(edges):
        reader.feed(M2_PLIST[a:b])
    assert reader.samples == 3
    assert reader.done_j == pytest.approx(totals(M2_J), rel=1e-9)


def test_nul_may_come_before_or_after_a_document() -> None:
    docs, rest = split_documents(b"\x00" + M1_PLIST.replace(b"\x00", b"\n\x00"), "plist")
    assert len(docs) == 3 and rest == b""
    assert all(d.startswith(b"<?xml") and d.endswith(b"</plist>") for d in docs)


def test_text_output_gives_the_same_energy_as_the_plist() -> None:
    reader = PowermetricsReader(fmt="text")
    assert reader.feed(M1_TEXT) == 2  # the last sample completes at the end of the stream
    reader.end()
    assert reader.samples == 3
    assert reader.done_j == pytest.approx(totals(M1_J), rel=2e-3)  # text rounds to whole mW


def test_text_sample_takes_each_domain_once_and_reads_watts() -> None:
    block = (
        "*** Sampled system activity (Mon Jan  8 09:00:01 2024 +0100) (500.00ms elapsed) ***\n"
        "CPU Power: 2.5 W\nGPU Power: 100 mW\nGPU Power: 999 mW\n"
    )
    sample = sample_from_text(block)
    assert sample.elapsed_s == 0.5
    assert sample.energy_j == pytest.approx({"cpu": 1.25, "gpu": 0.05})


def test_a_corrupt_document_is_skipped_and_counted() -> None:
    reader = PowermetricsReader(fmt="plist")
    reader.feed(b"<?xml version='1.0'?><plist><dict><key>oops</plist>\x00" + M1_PLIST)
    assert reader.samples == 3 and reader.bad_documents == 1


@pytest.fixture
def pipe() -> tuple[IO[bytes], IO[bytes]]:
    r, w = os.pipe()
    return os.fdopen(r, "rb"), os.fdopen(w, "wb")


def start(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]], interval_ms: int = 1000
) -> tuple[list[PowermetricsSensor], FakeProcess]:
    proc = FakeProcess(pipe[0])
    sensors, reasons = discover_apple(
        platform="darwin",
        machine="arm64",
        runner=Runner(proc),
        is_root=True,
        clock=clock,
        interval_ms=interval_ms,
        startup_s=0,
    )
    assert reasons == [] and all(isinstance(s, PowermetricsSensor) for s in sensors)
    return sensors, proc  # type: ignore[return-value]


def send(pipe: tuple[IO[bytes], IO[bytes]], sensor: PowermetricsSensor, doc: bytes) -> None:
    reader = sensor._reader
    before = reader.samples
    pipe[1].write(doc)
    pipe[1].flush()
    wait_for(lambda: reader.samples > before)


def test_sensors_describe_themselves(clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    sensors, proc = start(clock, pipe)
    infos = [s.info for s in sensors]
    assert [(i.component, i.device) for i in infos] == [
        (Component.CPU, "Apple Silicon CPU"),
        (Component.GPU, "Apple Silicon GPU"),
        (Component.GPU, "Apple Neural Engine"),
    ]
    assert {(i.method, i.provenance) for i in infos} == {("powermetrics", Provenance.INTEGRATED)}
    assert all("estimated" in i.notes[0] for i in infos)
    for s in sensors:
        s.close()
    assert proc.terminated


def test_energy_integrates_samples_and_extrapolates_between_them(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]
) -> None:
    docs = [d + b"\x00" for d in M1_PLIST.split(b"\x00") if d]
    sensors, _ = start(clock, pipe)
    cpu = sensors[0]
    prev = Usage(clock.t_s)
    for s in sensors:
        s.begin(prev)
    steps: list[float] = []

    def step() -> None:
        nonlocal prev
        cur = Usage(clock.t_s)
        steps.append(cpu.step(prev, cur).energy_j)
        prev = cur

    clock.advance(1.0)
    send(pipe, cpu, docs[0])
    step()
    assert steps[-1] == pytest.approx(1.236)
    clock.advance(0.5)
    step()  # half a second after the sample: its power carried forward
    assert steps[-1] == pytest.approx(1.236 / 1.00321 * 0.5)
    clock.advance(0.5)
    send(pipe, cpu, docs[1])
    step()
    assert sum(steps) == pytest.approx(1.236 + 5.874)
    clock.advance(0.9)
    step()  # 5.3 J extrapolated, but the next sample holds only 0.889 J
    send(pipe, cpu, docs[2])
    step()
    assert steps[-1] == 0.0 and min(steps) >= 0  # never negative: the overshoot is kept back
    assert sum(steps) == pytest.approx(1.236 + 5.874 + 5.874 / 1.00187 * 0.9)
    gpu = sensors[1]
    assert gpu.step(Usage(0.0), Usage(clock.t_s)).energy_j == pytest.approx(0.412 + 1.28 + 0.038)


def test_extrapolation_stops_after_two_intervals(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]
) -> None:
    sensors, _ = start(clock, pipe)
    cpu = sensors[0]
    cpu.begin(Usage(clock.t_s))
    send(pipe, cpu, M1_PLIST.split(b"\x00")[0] + b"\x00")
    clock.advance(4.0)
    energy_j = cpu.step(Usage(clock.t_s - 4), Usage(clock.t_s)).energy_j
    assert energy_j == pytest.approx(1.236 + 1.236 / 1.00321 * 2.0)


def test_process_exit_and_silence_are_gaps(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]
) -> None:
    sensors, proc = start(clock, pipe)
    cpu = sensors[0]
    cpu.begin(Usage(clock.t_s))
    clock.advance(6.0)
    with pytest.raises(SensorError, match="no sample for 6 s"):
        cpu.step(Usage(clock.t_s - 6), Usage(clock.t_s))
    proc.returncode = 1
    proc.stderr = io.BytesIO(b"powermetrics: kernel said no\n")
    pipe[1].close()
    wait_for(lambda: cpu._reader.ended)
    with pytest.raises(SensorError, match="exited with code 1: powermetrics: kernel said no"):
        cpu.step(Usage(clock.t_s), Usage(clock.t_s + 1))


def test_root_lost_midway_is_a_permission_error(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]
) -> None:
    sensors, proc = start(clock, pipe)
    proc.returncode, proc.stderr = 1, io.BytesIO(NOT_ROOT)
    pipe[1].close()
    wait_for(lambda: sensors[0]._reader.ended)
    for sensor in sensors:  # each sensor gets the same reason (stderr is read once)
        with pytest.raises(SensorPermissionError, match="sudo"):
            sensor.step(Usage(clock.t_s), Usage(clock.t_s + 1))


def test_a_mac_without_ane_figures_gets_a_gap_for_the_ane(
    clock: FakeClock, pipe: tuple[IO[bytes], IO[bytes]]
) -> None:
    doc = plistlib.dumps({"elapsed_ns": 10**9, "processor": {"cpu_energy": 1000, "gpu_energy": 10}})
    sensors, _ = start(clock, pipe)
    send(pipe, sensors[0], doc + b"\x00")
    assert sensors[0].step(Usage(0.0), Usage(clock.t_s)).energy_j == pytest.approx(1.0)
    with pytest.raises(SensorError, match="no ANE power"):
        sensors[2].step(Usage(0.0), Usage(clock.t_s))


def test_text_fallback_when_plist_output_is_refused(clock: FakeClock) -> None:
    running = FakeProcess(io.BytesIO(M1_TEXT))
    runner = Runner(exited(b"powermetrics: unrecognized format 'plist'\n"), running)
    sensors, reasons = discover_apple(
        platform="darwin", machine="arm64", runner=runner, is_root=True, clock=clock, startup_s=0
    )
    assert reasons == [] and "-f" not in runner.argvs[1]
    reader = sensors[0]._reader  # type: ignore[attr-defined]
    wait_for(lambda: reader.ended)
    assert reader.fmt == "text" and reader.samples == 3


def test_off_macos_nothing_heavy_is_imported() -> None:
    code = (
        "import sys, wattprint.sensors.gpu.apple as a; a.discover_apple(platform='linux'); "
        "print(sorted({'plistlib', 'platform', 'subprocess', 'xml.parsers.expat'} & "
        "set(sys.modules)))"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": src}, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.skipif(Path("/usr/bin/powermetrics").exists(), reason="a real Mac")
def test_missing_powermetrics_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert discover_apple(platform="darwin", machine="arm64") == (
        [],
        ["powermetrics not found (it ships with macOS in /usr/bin)"],
    )
