"""Real Prometheus and Pushgateway servers for the monitor tests (Debian's ``prometheus`` and
``prometheus-pushgateway``), each on 127.0.0.1 at a free port with its data in a temporary
directory. Tests skip with a reason where a binary is missing, except under CI (``CI`` set),
where that is a failure: ``.ci/run`` installs them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def need(binary: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI installs {binary} (.ci/run): not found")
    pytest.skip(f"needs Debian's {binary} (apt-get install {binary})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout_s: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return bytes(response.read())


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError as exc:  # not listening yet
            found, last = None, exc
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what} (last error: {last})")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-3000:]


def _start(args: list[str], root: Path, port: int, ready: str) -> Server:
    root.mkdir(parents=True, exist_ok=True)
    log = open(root / "server.log", "wb")  # noqa: SIM115 - for the server's whole life
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = Server(process, port, root)
    wait_for(lambda: process.poll() is None and get(server.url + ready), f"{args[0]} to start")
    return server


def start_prometheus(root: Path, targets: list[str], scrape_interval_s: float = 1.0) -> Server:
    binary = need("prometheus")
    port = free_port()
    config = root / "prometheus.yml"
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "global:\n"
        f"  scrape_interval: {scrape_interval_s:g}s\n"
        f"  scrape_timeout: {scrape_interval_s:g}s\n"
        "scrape_configs:\n"
        "  - job_name: wattprint\n"
        "    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n"
    )
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return _start(args, root, port, "/-/ready")


def start_pushgateway(root: Path) -> Server:
    binary = need("prometheus-pushgateway")
    port = free_port()
    # Persistence off: Debian's build defaults to /var/lib/prometheus/pushgateway.data, which
    # would carry one test's pushes into the next (and write outside the test's directory).
    args = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    return _start(args, root, port, "/-/ready")


def query(prometheus: Server, promql: str) -> list[dict[str, Any]]:
    """Prometheus's own HTTP API: the instant vector of ``promql``."""
    url = f"{prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    doc = json.loads(get(url))
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def query_range(prometheus: Server, promql: str, seconds: float) -> list[dict[str, Any]]:
    end = time.time()
    params = {"query": promql, "start": end - seconds, "end": end, "step": "1"}
    url = f"{prometheus.url}/api/v1/query_range?" + urllib.parse.urlencode(params)
    doc = json.loads(get(url))
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])
