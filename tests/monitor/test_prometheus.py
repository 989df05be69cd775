"""`wattprint monitor` scraped by a real Prometheus, and `wattprint run --push` received by a
real Pushgateway (Debian's packages, started on 127.0.0.1 by the tests: tests/monitor/servers.py).

The monitor runs as users run it (`python -m wattprint monitor`), on a fake powercap tree
(tests/fakes.py) whose counters a thread of the test advances, so the energy is known."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.samples import Sample

from tests.fakes import FakePowercap, intel_two_socket
from tests.monitor.servers import (
    Server,
    free_port,
    get,
    need,
    query,
    query_range,
    start_prometheus,
    start_pushgateway,
    wait_for,
)

SRC = Path(__file__).resolve().parents[2] / "src"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def env(tmp_path: Path, powercap: FakePowercap | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    e.update(
        PYTHONPATH=str(SRC),
        WATTPRINT_DB=str(tmp_path / "runs.sqlite3"),
        WATTPRINT_CPU_TDP_W="100",
        WATTPRINT_POWERCAP_DIR=str(powercap.class_dir if powercap else tmp_path / "none"),
    )
    return e


class Burner:
    """Advances package-0's counter (and package-1's while it works) every 0.1 s."""

    def __init__(self, pc: FakePowercap) -> None:
        self.pc = pc
        self.stop = threading.Event()
        self.broken = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self.pc.zones["intel-rapl:0"].add_energy_j(10.0)
            if not self.broken.is_set():
                self.pc.zones["intel-rapl:1"].add_energy_j(5.0)


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[tuple[Server, Burner, subprocess.Popen[str]]]:
    need("prometheus")
    pc = intel_two_socket(tmp_path / "sys")
    burner = Burner(pc)
    burner.thread.start()
    port = free_port()
    cmd = [sys.executable, "-m", "wattprint", "monitor", "--port", str(port),
           "--interval", "0.5", "--zone", "FR"]  # fmt: skip
    monitor = subprocess.Popen(
        cmd, env=env(tmp_path, pc), stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    prometheus = None
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/metrics"), "the monitor to serve")
        prometheus = start_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{port}"])
        yield prometheus, burner, monitor
    finally:
        burner.stop.set()
        if prometheus is not None:
            prometheus.stop()
        if monitor.poll() is None:
            monitor.send_signal(signal.SIGTERM)
        monitor.wait(timeout=15)


def test_prometheus_scrapes_the_monitor(
    monitored: tuple[Server, Burner, subprocess.Popen[str]],
) -> None:
    prometheus, burner, monitor = monitored
    series = 'wattprint_energy_joules_total{device="package-0"}'

    def enough_scrapes() -> bool:
        found = query(prometheus, f"count_over_time({series}[1m])")
        return bool(found) and float(found[0]["value"][1]) >= 5

    wait_for(enough_scrapes, "five scrapes of the monitor")
    # Monotonic across scrapes, as Prometheus stored them, and growing with the hardware.
    (curve,) = query_range(prometheus, series, 60)
    values = [float(v) for _, v in curve["values"]]
    assert values == sorted(values) and values[-1] > values[0]
    assert all(
        float(r["value"][1]) == 0
        for r in query(prometheus, "resets(wattprint_energy_joules_total[5m])")
    )
    labels = curve["metric"]
    assert (labels["component"], labels["provenance"], labels["job"]) == (
        "cpu",
        "measured",
        "wattprint",
    )
    (intensity,) = query(prometheus, "wattprint_grid_intensity_grams_per_kwh")
    assert intensity["metric"]["zone"] == "FR" and float(intensity["value"][1]) > 0
    assert float(query(prometheus, "wattprint_co2_grams_total")[0]["value"][1]) > 0

    # Every query of the Grafana dashboard in docs/ runs on this Prometheus and finds data
    # (but the cgroup panel's, on a machine without cgroup v2).
    dashboard = json.loads((DOCS / "grafana" / "wattprint-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    for expr in exprs:
        found = query(prometheus, expr.replace("$instance", ".*"))
        assert found or "cgroup" in expr, expr

    # A sensor breaks: its gauge says so, the scrape and the other sensors go on.
    burner.broken.set()
    (burner.pc.zones["intel-rapl:1"].path / "energy_uj").write_text("\n")

    def package_1_down() -> bool:
        found = query(prometheus, 'wattprint_sensor_up{device="package-1"}')
        return bool(found) and float(found[0]["value"][1]) == 0

    wait_for(package_1_down, "package-1 to read as down")
    (up,) = query(prometheus, 'up{job="wattprint"}')
    assert float(up["value"][1]) == 1
    (package_0,) = query(prometheus, 'wattprint_sensor_up{device="package-0"}')
    assert float(package_0["value"][1]) == 1
    before = float(query(prometheus, series)[0]["value"][1])
    wait_for(lambda: float(query(prometheus, series)[0]["value"][1]) > before, "package-0 to go on")

    monitor.send_signal(signal.SIGTERM)
    assert monitor.wait(timeout=15) == 0  # a clean stop
    assert monitor.stderr is not None
    assert "serving http://127.0.0.1:" in monitor.stderr.read()


def test_the_monitor_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    for args in (["--port", "70000"], ["--interval", "0"], ["--top", "-1"], ["--zone", "Atlantis"]):
        res = subprocess.run(
            [sys.executable, "-m", "wattprint", "monitor", *args],
            env=env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert res.returncode == 2, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1


# -- Pushgateway ------------------------------------------------------------------------------
@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[Server]:
    server = start_pushgateway(tmp_path / "pushgateway")
    yield server
    server.stop()


def wp_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wattprint", "run", "--project", "nightly", "--zone", "FR", *args],
        env=env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def pushed_to(gateway: Server) -> dict[str, Sample]:
    """The gateway's wattprint_run_ samples, by name (one run of one project here)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = get(gateway.url + "/metrics").decode()
    return {
        s.name: s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("wattprint_run_")
    }


def test_a_batch_run_is_pushed_to_the_pushgateway(pushgateway: Server, tmp_path: Path) -> None:
    res = wp_run(tmp_path, "--push", pushgateway.url, "--", sys.executable, "-c",
                 "sum(range(10**6)); raise SystemExit(3)")  # fmt: skip
    assert res.returncode == 3, res.stderr  # the command's own exit code
    pushed = pushed_to(pushgateway)
    assert pushed["wattprint_run_exit_code"].value == 3
    energy = pushed["wattprint_run_energy_joules"]
    assert energy.labels["job"] == "wattprint" and energy.labels["project"] == "nightly"
    assert pushed["wattprint_run_co2_grams"].labels["zone"] == "FR"
    assert pushed["wattprint_run_co2_grams"].value > 0
    assert pushed["wattprint_run_info"].labels["status"] == "failed"
    run_id = pushed["wattprint_run_info"].labels["run_id"]
    assert run_id[:12] in res.stderr  # the same run as the one recorded
    assert "wattprint_run_last_success_timestamp_seconds" not in pushed


def test_a_failed_run_keeps_the_time_of_the_last_success(
    pushgateway: Server, tmp_path: Path
) -> None:
    ok = wp_run(tmp_path, "--push", pushgateway.url, "--", sys.executable, "-c", "pass")
    assert ok.returncode == 0, ok.stderr
    first = pushed_to(pushgateway)
    success_s = first["wattprint_run_last_success_timestamp_seconds"].value
    assert first["wattprint_run_info"].labels["status"] == "finished" and success_s > 0
    bad = wp_run(tmp_path, "--push", pushgateway.url, "--", sys.executable, "-c",
                 "raise SystemExit(5)")  # fmt: skip
    assert bad.returncode == 5, bad.stderr
    second = pushed_to(pushgateway)
    assert second["wattprint_run_exit_code"].value == 5
    assert second["wattprint_run_info"].labels["status"] == "failed"
    assert (
        second["wattprint_run_info"].labels["run_id"]
        != first["wattprint_run_info"].labels["run_id"]
    )  # only one run's info: the family was replaced
    assert second["wattprint_run_last_success_timestamp_seconds"].value == success_s
    completed = "wattprint_run_last_completion_timestamp_seconds"
    assert second[completed].value >= first[completed].value


def test_a_bad_push_url_fails_before_the_command_and_a_failed_push_keeps_the_run(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w')"
    for url in ("ftp://gateway:9091", "http://", "http://host:port", "http://u:hunter2@gw:9x"):
        res = wp_run(tmp_path, "--push", url, "--", sys.executable, "-c", code)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert "hunter2" not in res.stderr
    assert not marker.exists()
    closed = f"http://user:hunter2@127.0.0.1:{free_port()}"
    res = wp_run(tmp_path, "--push", closed, "--", sys.executable, "-c", "raise SystemExit(4)")
    assert res.returncode == 4  # the command's code, not the push's
    assert "could not push the run" in res.stderr and "hunter2" not in res.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "wattprint", "runs", "--json"],
        env=env(tmp_path), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert len(listed.stdout.splitlines()) == 1  # the run is recorded all the same
