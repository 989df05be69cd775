"""Apple Silicon CPU, GPU and Neural Engine energy through ``powermetrics`` (needs root).

We run ``powermetrics --samplers cpu_power,gpu_power -i <ms> -f plist -b 1`` (powermetrics(1):
``-f plist`` is "machine-readable property list, NUL-separated", ``-b 1`` line-buffers) and read
its stream in a thread. Each document covers ``elapsed_ns``; its ``processor`` dict holds
``cpu_energy``/``gpu_energy``/``ane_energy`` (mJ over the sample) and, on newer macOS,
``cpu_power``/``gpu_power``/``ane_power``/``combined_power`` (mW averages); some versions put
``gpu_energy`` under ``gpu``. Key names as read by asitop (tlkh/asitop ``parsers.py``) and
other public parsers. Where plist output is refused we fall back to the text format
(``CPU Power: 1234 mW``, ``GPU Power: ...``, ``ANE Power: ...`` under ``*** Sampled system
activity (...) (1003.12ms elapsed) ***``).

These are *estimates*: the man page says "Average power values reported by powermetrics are
estimated and may be inaccurate". So provenance is "integrated" and the bands are wide
(judgement: no published validation against wall power found). The ANE is reported as
component "gpu" with device "Apple Neural Engine": the record's components are cpu|gpu|ram|
storage, and an ML accelerator's energy belongs with the accelerators, not the CPU.

Energy between samples is extrapolated from the last sample's power (at most two intervals
ahead) and reconciled when the next sample lands, so short runs and window edges are not short
by up to one sampling interval; reported energy never goes down.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from wattprint.errors import SensorError, SensorPermissionError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage

SAMPLERS = "cpu_power,gpu_power"
DEFAULT_INTERVAL_MS = 1000
DOMAINS = ("cpu", "gpu", "ane")
DEVICES = {"cpu": "Apple Silicon CPU", "gpu": "Apple Silicon GPU", "ane": "Apple Neural Engine"}
UNCERTAINTY_PCT = {"cpu": 20.0, "gpu": 25.0, "ane": 30.0}
ROOT_FIX = (
    "powermetrics needs root: run wattprint with sudo (sudo wattprint run -- CMD), or allow "
    "`sudo -n /usr/bin/powermetrics` for this user in sudoers"
)
_PERMISSION_WORDS = ("superuser", "password is required", "not in the sudoers", "not allowed")
_HEADER = re.compile(r"\*\*\* Sampled system activity \(.*?\) \(([\d.]+)\s*ms elapsed\) \*\*\*")
_POWER_LINE = re.compile(r"^(CPU|GPU|ANE) Power:\s*([\d.]+)\s*(mW|W)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Sample:
    """One powermetrics sample: its length and the energy of each domain it reports."""

    elapsed_s: float
    energy_j: dict[str, float]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def sample_from_plist(doc: Mapping[str, object]) -> Sample:
    """Energy per domain of one plist document: power x elapsed where powermetrics gives an
    average power (float mW), else its per-sample energy (whole mJ)."""
    elapsed_s = (_number(doc.get("elapsed_ns")) or 0.0) / 1e9
    out: dict[str, float] = {}
    for part in (doc.get("processor"), doc.get("gpu")):
        if not isinstance(part, Mapping):
            continue
        for d in DOMAINS:
            power_mw, energy_mj = _number(part.get(f"{d}_power")), _number(part.get(f"{d}_energy"))
            if d not in out and power_mw is not None and elapsed_s > 0:
                out[d] = power_mw / 1e3 * elapsed_s
            elif d not in out and energy_mj is not None:
                out[d] = energy_mj / 1e3
    return Sample(elapsed_s, out)


def sample_from_text(block: str) -> Sample:
    """Energy per domain of one text sample (the first ``X Power`` line of each domain: the
    gpu_power sampler repeats ``GPU Power`` in its own section)."""
    header = _HEADER.search(block)
    elapsed_s = float(header.group(1)) / 1e3 if header else 0.0
    out: dict[str, float] = {}
    for name, value, unit in _POWER_LINE.findall(block):
        power_w = float(value) / (1e3 if unit == "mW" else 1.0)
        out.setdefault(name.lower(), power_w * elapsed_s)
    return Sample(elapsed_s, out)


def split_documents(buffer: bytes, fmt: str) -> tuple[list[bytes], bytes]:
    """Complete documents in ``buffer`` and the incomplete rest. A plist ends at ``</plist>``
    (its NUL separator may arrive with the next one); a text sample ends where the next
    ``*** Sampled system activity`` header starts."""
    docs: list[bytes] = []
    if fmt == "plist":
        while (end := buffer.find(b"</plist>")) >= 0:
            docs.append(buffer[: end + 8].lstrip(b"\x00 \t\r\n"))
            buffer = buffer[end + 8 :].lstrip(b"\x00 \t\r\n")
        return docs, buffer
    starts = [m.start() for m in re.finditer(rb"\*\*\* Sampled system activity", buffer)]
    for a, b in itertools.pairwise(starts):
        docs.append(buffer[a:b])
    return docs, buffer[starts[-1] :] if starts else buffer


def _chunks(stream: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    read = getattr(stream, "read1", None) or getattr(stream, "read", None)
    if read is None:
        yield from stream
        return
    while chunk := read(65536):
        yield chunk


class PowermetricsReader:
    """Parses powermetrics output as it arrives (``feed``, or ``run``/``start`` over a stream)
    and keeps the energy per domain, stamped with the clock at arrival. Thread-safe."""

    def __init__(
        self,
        stream: IO[bytes] | Iterable[bytes] | None = None,
        *,
        fmt: str = "plist",
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = DEFAULT_INTERVAL_MS / 1e3,
    ) -> None:
        self.stream, self.fmt, self.clock, self.interval_s = stream, fmt, clock, interval_s
        self.started_t_s = clock()
        self.done_j = dict.fromkeys(DOMAINS, 0.0)
        self.power_w: dict[str, float] = {}
        self.last_t_s: float | None = None
        self.samples = 0
        self.bad_documents = 0
        self.ended = False
        self.error: str | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> int:
        """Takes more output; returns how many samples it completed."""
        docs, self._buffer = split_documents(self._buffer + data, self.fmt)
        for doc in docs:
            self.add(self._parse(doc))
        return len(docs)

    def _parse(self, doc: bytes) -> Sample:
        if self.fmt == "text":
            return sample_from_text(doc.decode("utf-8", "replace"))
        import plistlib  # only on macOS: importing wattprint elsewhere must not pay for it
        from xml.parsers.expat import ExpatError

        try:
            parsed = plistlib.loads(doc)
        except (plistlib.InvalidFileException, ExpatError, ValueError, OverflowError):
            parsed = None
        if not isinstance(parsed, Mapping):
            self.bad_documents += 1
            return Sample(0.0, {})
        return sample_from_plist(parsed)

    def add(self, sample: Sample) -> None:
        """Counts one sample that ended now (by the clock)."""
        if not sample.energy_j:
            return
        now = self.clock()
        elapsed_s = sample.elapsed_s if sample.elapsed_s > 0 else self.interval_s
        with self._lock:
            for domain, energy_j in sample.energy_j.items():
                self.done_j[domain] += energy_j
                self.power_w[domain] = energy_j / elapsed_s
            self.last_t_s = now
            self.samples += 1

    def end(self, error: str | None = None) -> None:
        if self.fmt == "text" and self._buffer.strip():
            self.add(self._parse(self._buffer))  # the last text sample has no successor
        self._buffer = b""
        self.ended, self.error = True, error

    def run(self) -> None:
        """Consumes the stream to its end in this thread."""
        error = None
        try:
            for chunk in _chunks(self.stream or ()):
                self.feed(chunk)
        except (OSError, ValueError) as exc:  # the pipe closed under us
            error = f"reading powermetrics output failed: {exc}"
        self.end(error)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="wattprint-powermetrics", daemon=True)
        thread.start()
        return thread

    def estimate_j(self, domain: str, t_s: float) -> float:
        """Energy of ``domain`` up to ``t_s``: the samples so far, plus the last power for the
        time since (at most two intervals)."""
        with self._lock:
            done_j = self.done_j[domain]
            if self.last_t_s is None or domain not in self.power_w or self.ended:
                return done_j
            ahead_s = min(max(0.0, t_s - self.last_t_s), 2 * self.interval_s)
            return done_j + self.power_w[domain] * ahead_s


class Process(Protocol):
    """What we use of :class:`subprocess.Popen` (tests pass stand-ins)."""

    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


Runner = Callable[[Sequence[str]], Process]


def popen(argv: Sequence[str]) -> Process:
    import subprocess

    return subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _exit_reason(proc: Process) -> str:
    """One line on why powermetrics is not running, naming the fix when it lacks root."""
    text = b""
    if proc.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            text = proc.stderr.read() or b""
    said = " ".join(text.decode("utf-8", "replace").split())[:200]
    if any(w in said.lower() for w in _PERMISSION_WORDS):
        return f"{ROOT_FIX} ({said})"
    return f"powermetrics exited with code {proc.poll()}" + (f": {said}" if said else "")


class _Session:
    """The powermetrics process and its reader, shared by the three sensors."""

    def __init__(self, proc: Process, reader: PowermetricsReader) -> None:
        self.proc, self.reader, self.users = proc, reader, 0
        self.stale_s = max(5.0, 3 * reader.interval_s)
        self._why: str | None = None  # why it stopped, read once (stderr is consumed)

    def check(self, t_s: float) -> None:
        reader = self.reader
        if reader.ended:
            if self._why is None:
                import subprocess  # loaded already: we started powermetrics

                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=1.0)  # its output ends just before it exits
                self._why = reader.error or _exit_reason(self.proc)
            error = SensorPermissionError if self._why.startswith(ROOT_FIX) else SensorError
            raise error(self._why)
        since_s = t_s - (reader.last_t_s if reader.last_t_s is not None else reader.started_t_s)
        if since_s > self.stale_s:
            raise SensorError(f"powermetrics gave no sample for {since_s:.0f} s")

    def release(self) -> None:
        self.users -= 1
        if self.users > 0:
            return
        with contextlib.suppress(OSError):  # gone already, or not ours to signal
            self.proc.terminate()
        import subprocess  # loaded already: we started powermetrics

        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                self.proc.kill()


class PowermetricsSensor(Sensor):
    """One domain (CPU, GPU or ANE) of a shared powermetrics stream."""

    def __init__(self, session: _Session, domain: str) -> None:
        self._session, self._reader, self.domain = session, session.reader, domain
        notes = ["powermetrics reports estimated power from Apple's models, not a meter"]
        if domain != "cpu":
            notes.append("scope='process' bills the whole device to the job (no per-process use)")
        self.info = SensorInfo(
            component=Component.CPU if domain == "cpu" else Component.GPU,
            device=DEVICES[domain],
            method="powermetrics",
            provenance=Provenance.INTEGRATED,
            uncertainty_pct=UNCERTAINTY_PCT[domain],
            notes=tuple(notes),
            details={"domain": domain, "interval_ms": round(session.reader.interval_s * 1e3)},
        )
        self._base_j = 0.0
        self._reported_j = 0.0

    def begin(self, usage: Usage) -> None:
        self._base_j, self._reported_j = self._reader.estimate_j(self.domain, usage.t_s), 0.0

    def step(self, prev: Usage, cur: Usage) -> Step:
        self._session.check(cur.t_s)
        reader = self._reader
        if reader.samples and self.domain not in reader.power_w:
            raise SensorError(f"powermetrics reports no {self.domain.upper()} power on this Mac")
        so_far_j = reader.estimate_j(self.domain, cur.t_s) - self._base_j
        energy_j = max(0.0, so_far_j - self._reported_j)  # an overshoot is taken back later
        self._reported_j += energy_j
        return Step(energy_j)

    def close(self) -> None:
        self._session.release()


def _start(
    run: Runner, argv: Sequence[str], startup_s: float, sleep: Callable[[float], None]
) -> tuple[Process | None, str]:
    """Starts powermetrics; waits up to ``startup_s`` for an early exit (no root, bad flag)."""
    try:
        proc = run(argv)
    except OSError as exc:
        return None, f"cannot run {argv[0]}: {exc}"
    waited_s = 0.0
    while proc.poll() is None and waited_s < startup_s:
        sleep(0.05)
        waited_s += 0.05
    return (None, _exit_reason(proc)) if proc.poll() is not None else (proc, "")


def discover_apple(
    *,
    platform: str = sys.platform,
    runner: Runner | None = None,
    machine: str | None = None,
    is_root: bool | None = None,
    interval_ms: int = DEFAULT_INTERVAL_MS,
    startup_s: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Sensor], list[str]]:
    """CPU, GPU and ANE sensors from one powermetrics process, or why there are none.

    Without root, tries ``sudo -n`` (never prompts). Never raises for a missing tool or
    permission; costs at most ``startup_s`` of waiting."""
    if not platform.startswith("darwin"):
        return [], ["not macOS"]
    import platform as platform_mod  # after the macOS check: not loaded elsewhere

    arch = machine or platform_mod.machine()
    if arch != "arm64":
        return [], [f"not Apple Silicon ({arch}; or Python runs under Rosetta)"]
    exe = shutil.which("powermetrics") or "/usr/bin/powermetrics"
    if runner is None and not os.path.exists(exe):
        return [], ["powermetrics not found (it ships with macOS in /usr/bin)"]
    root = os.geteuid() == 0 if is_root is None else is_root
    base = [exe, "--samplers", SAMPLERS, "-i", str(interval_ms)]
    sudo = [] if root else ["sudo", "-n"]
    run = runner or popen
    proc, why = _start(run, [*sudo, *base, "-f", "plist", "-b", "1"], startup_s, sleep)
    fmt = "plist"
    if proc is None and not why.startswith(ROOT_FIX) and ("format" in why or "option" in why):
        fmt = "text"  # an older powermetrics without plist output
        proc, why = _start(run, [*sudo, *base, "-b", "1"], startup_s, sleep)
    if proc is None:
        return [], [why]
    reader = PowermetricsReader(proc.stdout, fmt=fmt, clock=clock, interval_s=interval_ms / 1e3)
    session = _Session(proc, reader)
    reader.start()
    sensors: list[Sensor] = [PowermetricsSensor(session, d) for d in DOMAINS]
    session.users = len(sensors)
    return sensors, []
