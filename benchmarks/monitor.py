"""What a scrape of `wattprint monitor` costs (issue #14: <= 5 ms), and a sample.

The monitor runs in this process on this machine's sensors, with a zone and a cgroup tree of
12 units (a fake one laid out like cgroup v2, so the per-cgroup series are there on any
machine). Each figure is the median of 200 scrapes over HTTP from the real server on
127.0.0.1 (what Prometheus does), against the same client fetching a static 2 KiB page from a
plain `http.server` in the same process: the HTTP round trip that any exporter pays. The
scrape's own work (the collector over the cached reading, and the text encoding) is also
timed alone, in process; and a sample (every sensor and the cgroup tree read), in CPU time.

    python benchmarks/monitor.py
"""

from __future__ import annotations

import http.server
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest

from tests.monitor.test_cgroups import FakeCgroupTree
from wattprint.monitor.daemon import MonitorOptions, build_state, serve
from wattprint.monitor.exposition import MonitorCollector
from wattprint.sensors.discovery import HardwareOptions
from wattprint.settings import resolve

BUDGET_MS = 5.0
N = 200


def timed_get(url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=5) as r:
        size = len(r.read())
    return (time.perf_counter() - t0) * 1000, size


def median_ms(url: str) -> tuple[float, int]:
    timed_get(url)  # warm
    runs = [timed_get(url) for _ in range(N)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


class Static(http.server.BaseHTTPRequestHandler):
    body = b"x" * 2048

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree = FakeCgroupTree(Path(tmp) / "cgroup")
        for i in range(12):
            tree.burn(f"system.slice/job-{i}.service", 0.1 * (i + 1))
        state = build_state(resolve({"zone": "DE"}), HardwareOptions(cgroup_root=tree.root), top=10)
        stop = threading.Event()
        port_box: list[int] = []
        opts = MonitorOptions("127.0.0.1", 0, 3600.0, 10)  # this script samples, not the loop
        thread = threading.Thread(
            target=serve, args=(state, opts, stop, port_box.append), daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not port_box and time.monotonic() < deadline:
            time.sleep(0.01)
        metrics_url = f"http://127.0.0.1:{port_box[0]}/metrics"
        sample_cpu = []
        for _ in range(50):
            for i in range(12):
                tree.burn(f"system.slice/job-{i}.service", 0.2)
            t0 = time.process_time()
            state.sample()
            sample_cpu.append((time.process_time() - t0) * 1000)
        sample_cpu_ms = statistics.median(sample_cpu)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MonitorCollector(state.reading, "bench"))
        collect = []
        for _ in range(N):
            t0 = time.perf_counter()
            generate_latest(registry)
            collect.append((time.perf_counter() - t0) * 1000)
        collect_ms = statistics.median(collect)

        static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Static)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        base_ms, _ = median_ms(f"http://127.0.0.1:{static.server_port}/")
        scrape_ms, size = median_ms(metrics_url)
        static.shutdown()
        stop.set()
        thread.join(timeout=10)

    print(f"python {sys.version.split()[0]}; {N} requests each over HTTP on 127.0.0.1, medians")
    print(f"static 2 KiB page (baseline)   {base_ms:6.2f} ms")
    print(
        f"scrape /metrics ({size} bytes, {len(state.meter.sensors)} sensors, 11 cgroup "
        f"series)   {scrape_ms:6.2f} ms   {scrape_ms / BUDGET_MS:.2f}x budget  "
        f"{'ok' if scrape_ms <= BUDGET_MS else 'OVER'}   ({scrape_ms / base_ms:.1f}x the baseline)"
    )
    print(
        f"collect + encode in process (no HTTP)   {collect_ms:6.3f} ms   "
        f"{collect_ms / BUDGET_MS:.3f}x budget"
    )
    print(f"one sample (all sensors + cgroups, CPU time, median of 50)   {sample_cpu_ms:6.2f} ms")


if __name__ == "__main__":
    main()
