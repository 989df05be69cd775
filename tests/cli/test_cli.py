"""``python -m wattprint`` end to end, in a subprocess, as users and scripts call it.

The environment points ``PYTHONPATH`` at this checkout's ``src`` (no install needed), clears
the user's wattprint settings, and makes the CPU estimate deterministic: no powercap tree
(``WATTPRINT_POWERCAP_DIR`` at a missing directory) and a TDP override
(``WATTPRINT_CPU_TDP_W``). Nothing here touches the network.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import wattprint
from tests.fakes import RECORD_COMPONENT_KEYS as COMPONENT_KEYS
from tests.fakes import RECORD_KEYS, intel_two_socket

SRC = Path(__file__).resolve().parents[2] / "src"
PY = sys.executable


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATTPRINT_") and k not in ("PYTHONPATH", "PYTHONSTARTUP")
    }
    e["PYTHONPATH"] = str(SRC)
    e["WATTPRINT_POWERCAP_DIR"] = str(tmp_path / "no-powercap")
    e["WATTPRINT_CPU_TDP_W"] = "100"
    e["WATTPRINT_DB"] = str(tmp_path / "runs.sqlite3")  # never the developer's own store
    return e


def wattprint_cli(
    *args: str, env: dict[str, str], cwd: Path, timeout_s: float = 20.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "wattprint", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def assert_usage_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("wattprint: error: ")
    return lines[0]


# -- version and devices ---------------------------------------------------------------------
def test_version(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli("--version", env=env, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"wattprint {wattprint.__version__}"


def test_devices_table(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli("devices", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("CPU: ")
    assert "Measured here:" in out
    assert "tdp-model (override)" in out
    assert "estimated" in out
    assert "Not available here:" in out
    assert "rapl-powercap" in out


def test_devices_json(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli("devices", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"sensors", "unavailable"} <= set(doc)
    cpu = [s for s in doc["sensors"] if s["component"] == "cpu"]
    assert len(cpu) == 1
    assert cpu[0]["method"] == "tdp-model (override)"
    assert cpu[0]["provenance"] == "estimated"
    assert cpu[0]["details"]["tdp_w"] == 100.0
    for sensor in doc["sensors"]:
        assert sensor["provenance"] in ("measured", "integrated", "estimated")
        assert sensor["method"]
    missing = {(u["component"], u["method"]) for u in doc["unavailable"]}
    assert ("cpu", "rapl-powercap") in missing
    assert all(u["reason"] for u in doc["unavailable"])


def test_devices_json_on_the_real_machine_names_a_cpu_method(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Without overrides: whatever this machine has, the cpu sensor says how it measures."""
    del env["WATTPRINT_POWERCAP_DIR"], env["WATTPRINT_CPU_TDP_W"]
    proc = wattprint_cli("devices", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cpu = [s for s in json.loads(proc.stdout)["sensors"] if s["component"] == "cpu"]
    assert cpu
    assert all(
        s["method"] in ("rapl-powercap",) or s["method"].startswith("tdp-model") for s in cpu
    )
    assert all(s["provenance"] in ("measured", "estimated") for s in cpu)


def test_devices_and_run_with_rapl(env: dict[str, str], tmp_path: Path) -> None:
    """With a readable powercap tree (a fake one, laid out like the kernel's, through
    WATTPRINT_POWERCAP_DIR) the CPU and RAM are measured, not estimated."""
    pc = intel_two_socket(tmp_path / "sys")
    env["WATTPRINT_POWERCAP_DIR"] = str(pc.class_dir)
    proc = wattprint_cli("devices", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sensors = json.loads(proc.stdout)["sensors"]
    rapl = [(s["component"], s["device"]) for s in sensors if s["method"] == "rapl-powercap"]
    assert rapl == [
        ("cpu", "package-0"),
        ("cpu", "package-1"),
        ("ram", "package-0/dram"),
        ("ram", "package-1/dram"),
    ]
    assert all(s["provenance"] == "measured" for s in sensors if s["method"] == "rapl-powercap")
    out = tmp_path / "run.json"
    proc = wattprint_cli("run", "--json", str(out), "--", PY, "-c", "pass", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    measured = [c for c in json.loads(out.read_text())["components"] if c["name"] in ("cpu", "ram")]
    assert len(measured) == 4
    assert {(c["method"], c["provenance"]) for c in measured} == {("rapl-powercap", "measured")}


# -- run ------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [0, 3])
def test_run_passes_the_exit_code_through(env: dict[str, str], tmp_path: Path, code: int) -> None:
    proc = wattprint_cli(
        "run", "--", PY, "-c", f"import sys; sys.exit({code})", env=env, cwd=tmp_path
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("wattprint: ")


def test_run_child_killed_by_a_signal_exits_128_plus_signal(
    env: dict[str, str], tmp_path: Path
) -> None:
    kill_self = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    proc = wattprint_cli("run", "--", PY, "-c", kill_self, env=env, cwd=tmp_path)
    assert proc.returncode == 128 + signal.SIGTERM


def test_run_leaves_the_child_stdout_alone(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli(
        "run", "--", PY, "-c", "print('hello from the child')", env=env, cwd=tmp_path
    )
    assert proc.returncode == 0
    assert proc.stdout == "hello from the child\n"  # the summary goes to stderr


def test_run_writes_the_record(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = wattprint_cli(
        "run",
        "--project",
        "cli-test",
        "--json",
        str(out),
        "--",
        PY,
        "-c",
        "import sys; sum(range(3 * 10**6)); sys.exit(5)",
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 5, proc.stderr
    record = json.loads(out.read_text())
    assert set(record) >= RECORD_KEYS
    assert record["exit_code"] == 5
    assert record["project"] == "cli-test"
    assert record["zone"] is None
    assert record["co2_kg"] is None  # no zone, no guessed country
    assert record["pue"] == 1.0
    started = datetime.fromisoformat(record["started_at"].replace("Z", "+00:00"))
    assert started.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - started).total_seconds()) < 60
    assert 0 < record["duration_s"] < 20
    assert record["components"]
    for c in record["components"]:
        assert set(c) >= COMPONENT_KEYS
        assert c["name"] in ("cpu", "gpu", "ram", "storage")
        assert c["provenance"] in ("measured", "integrated", "estimated")
        assert c["energy_kwh"] >= 0
    cpu = [c for c in record["components"] if c["name"] == "cpu"]
    assert [c["method"] for c in cpu] == ["tdp-model (override)"]
    assert cpu[0]["energy_kwh"] > 0  # the child did work, at least the idle floor
    assert record["energy_kwh"] == pytest.approx(sum(c["energy_kwh"] for c in record["components"]))
    assert not list(tmp_path.glob(".run.json.*"))  # the temporary file was renamed


def test_run_with_a_zone_gives_co2(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = wattprint_cli(
        "run",
        "--zone",
        "de",
        "--pue",
        "1.5",
        "--json",
        str(out),
        "--",
        PY,
        "-c",
        "pass",
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert record["zone"] == "DE"
    assert record["intensity_g_per_kwh"] > 0
    assert record["intensity_source"]
    assert record["co2_kg"] == pytest.approx(
        record["energy_kwh"] * 1.5 * record["intensity_g_per_kwh"] / 1000
    )
    assert record["co2_kg"] > 0
    assert "CO2e (DE" in proc.stderr


def test_run_zone_from_the_environment(env: dict[str, str], tmp_path: Path) -> None:
    env["WATTPRINT_ZONE"] = "FR"
    out = tmp_path / "run.json"
    proc = wattprint_cli("run", "--json", str(out), "--", PY, "-c", "pass", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert record["zone"] == "FR"
    assert math.isfinite(record["co2_kg"])


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")
def test_sigterm_to_wattprint_reaches_the_child(env: dict[str, str], tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    out = tmp_path / "run.json"
    child_code = f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); time.sleep(30)"
    wp = subprocess.Popen(
        [PY, "-m", "wattprint", "run", "--json", str(out), "--", PY, "-c", child_code],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists()
        wp.send_signal(signal.SIGTERM)
        _, stderr = wp.communicate(timeout=10)
    finally:
        if wp.poll() is None:
            wp.kill()
            wp.wait()
    assert wp.returncode == 128 + signal.SIGTERM, stderr
    assert json.loads(out.read_text())["exit_code"] == 128 + signal.SIGTERM


def test_sigint_to_wattprint_alone_reaches_the_child(env: dict[str, str], tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child_code = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit(42))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(1.5)\n"
    )
    wp = subprocess.Popen(
        [PY, "-m", "wattprint", "run", "--", PY, "-c", child_code],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists()
        wp.send_signal(signal.SIGINT)  # to wattprint only, not its process group
        wp.wait(timeout=10)
    finally:
        if wp.poll() is None:
            wp.kill()
            wp.wait()
    assert wp.returncode == 42


# -- bad input: exit 2, one line ------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--zone", "XX", "--", PY, "-c", "pass"], "zone"),
        (["run", "--pue", "0.9", "--", PY, "-c", "pass"], "pue"),
        (["run", "--pue", "nan", "--", PY, "-c", "pass"], "pue"),
        (["run", "--interval", "-1", "--", PY, "-c", "pass"], "interval"),
        (["run", "--interval", "abc", "--", PY, "-c", "pass"], "interval"),
        (["run", "--scope", "galaxy", "--", PY, "-c", "pass"], "scope"),
        (["run", "--", "no-such-command-wattprint-test"], "no-such-command-wattprint-test"),
        (["run", "--"], "no command"),
        (["run"], "no command"),
        (["frobnicate"], "frobnicate"),
        (["devices", "--frob"], "--frob"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: dict[str, str], tmp_path: Path, args: list[str], needle: str
) -> None:
    line = assert_usage_error(wattprint_cli(*args, env=env, cwd=tmp_path))
    assert needle in line


def test_unknown_zone_suggests_close_matches(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli("run", "--zone", "DEU1", "--", PY, "-c", "pass", env=env, cwd=tmp_path)
    line = assert_usage_error(proc)
    assert "DE" in line


def test_json_into_a_missing_directory(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "missing" / "run.json"
    proc = wattprint_cli(
        "run", "--json", str(target), "--", PY, "-c", "open('ran', 'w')", env=env, cwd=tmp_path
    )
    assert "does not exist" in assert_usage_error(proc)
    assert not (tmp_path / "ran").exists()  # checked before the command runs


def test_json_onto_a_directory(env: dict[str, str], tmp_path: Path) -> None:
    proc = wattprint_cli(
        "run", "--json", str(tmp_path), "--", PY, "-c", "pass", env=env, cwd=tmp_path
    )
    assert "directory" in assert_usage_error(proc)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_json_into_a_read_only_directory(env: dict[str, str], tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        proc = wattprint_cli(
            "run", "--json", str(ro / "run.json"), "--", PY, "-c", "pass", env=env, cwd=tmp_path
        )
    finally:
        ro.chmod(0o700)
    assert "not writable" in assert_usage_error(proc)


def test_bad_tdp_in_the_environment(env: dict[str, str], tmp_path: Path) -> None:
    env["WATTPRINT_CPU_TDP_W"] = "lots"
    line = assert_usage_error(wattprint_cli("devices", env=env, cwd=tmp_path))
    assert "WATTPRINT_CPU_TDP_W" in line


def test_no_subcommand(env: dict[str, str], tmp_path: Path) -> None:
    """Bare ``wattprint`` is bad input too: one line that suggests what to run, not the help."""
    line = assert_usage_error(wattprint_cli(env=env, cwd=tmp_path))
    assert "--help" in line
