"""Faults around `wattprint run`: killed at any moment, it leaves no command running unmeasured
and, once the command has started, a run in the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(PYTHONPATH=str(SRC), WATTPRINT_DB=str(db), WATTPRINT_CPU_TDP_W="100")
    return env


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("delay_s", [0.0, 0.03, 0.06, 0.1, 0.15, 0.25, 0.5, 1.0])
def test_sigkill_never_orphans_the_command_nor_loses_its_run(
    tmp_path: Path, delay_s: float
) -> None:
    db, pidfile = tmp_path / "runs.sqlite3", tmp_path / "child.pid"
    cmd = f"echo $$ > {pidfile}; exec sleep 30"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattprint", "run", "--project", "killed", "--", "sh", "-c", cmd],
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(0.2)  # let a child that was being spawned write its pid
    if not pidfile.exists() or not pidfile.read_text().strip():
        assert delay_s < 0.5, "the command never started: this case tests nothing"
        return  # killed before the command started: nothing ran, nothing to record
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the command ran on after wattprint was killed"
    res = subprocess.run(
        [sys.executable, "-m", "wattprint", "runs", "--json"],
        env=_env(db),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    runs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["project"] for r in runs] == ["killed"]  # recorded before the command started
    assert runs[0]["status"] in ("interrupted", "running")


@pytest.mark.parametrize(
    "args",
    [
        [b"run", b"--project", b"p\xff", b"--"],
        [b"run", b"--experiment", b"e\x1b[2J", b"--"],
        [b"run", b"--tag", b"ok", b"--tag", b"t\xfe", b"--"],
        [b"run", b"--zone", b"D\xc3E", b"--"],
    ],
)
def test_undecodable_or_control_bytes_in_names_stop_before_the_command(
    tmp_path: Path, args: list[bytes]
) -> None:
    """A byte that is not UTF-8 arrives as a lone surrogate; control characters would forge
    lines or drive the terminal: both are a one-line error before the command runs."""
    marker = tmp_path / "ran"
    cmd = [
        sys.executable.encode(),
        b"-m",
        b"wattprint",
        *args,
        sys.executable.encode(),
        b"-c",
        f"open({str(marker)!r}, 'w')".encode(),
    ]
    res = subprocess.run(
        cmd, env=_env(tmp_path / "db.sqlite3"), capture_output=True, check=False, timeout=60
    )
    assert res.returncode == 2, res.stderr
    err = res.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(err) == 1 and "\x1b" not in err[0]
    assert not marker.exists()


def test_the_ends_of_time_are_valid_filters(tmp_path: Path) -> None:
    env = _env(tmp_path / "db.sqlite3")
    subprocess.run(
        [sys.executable, "-m", "wattprint", "run", "--", "true"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    for cmd in ("runs", "summary"):
        for flag, value in (
            ("--until", "9999-12-31"),
            ("--since", "0001-01-01"),
            ("--until", "0001-01-01T00:00+01:00"),
        ):
            res = subprocess.run(
                [sys.executable, "-m", "wattprint", cmd, flag, value],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert res.returncode == 0, (cmd, flag, value, res.stderr)
