"""Validate wattprint's NVIDIA paths on a real GPU machine, in under 5 minutes.

Runs a short torch matmul workload on GPU 0 and prints, side by side:
- energy from NVML's total-energy counter (what wattprint uses on Volta+),
- energy from integrating NVML power readings (wattprint's fallback path),
- energy from polling `nvidia-smi --query-gpu=power.draw` (what peers do),
- the power reading's update period (how often nvmlDeviceGetPowerUsage changes),
- the window-sync effect: a window ended right after queuing kernels, with and without
  torch.cuda.synchronize() at the edge,
- the tracker's slowdown of the workload at 1 Hz and 10 Hz (wall time vs a baseline run
  in the same process).

Usage:  python benchmarks/gpu_check.py [--seconds 20] [--size 8192]
Record its output in docs/validation.md (device, driver, figures).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import threading
import time
from typing import Any


def need(module: str, package: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"gpu_check: {module} is not installed; pip install {package!r} and rerun")


def matmul_for(torch: Any, seconds: float, size: int) -> int:
    """Busy the GPU for ``seconds``; returns the number of matmuls done."""
    a = torch.randn(size, size, device="cuda", dtype=torch.float16)
    b = torch.randn(size, size, device="cuda", dtype=torch.float16)
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(8):
            a @ b
        torch.cuda.synchronize()
        n += 8
    return n


def power_update_period_s(nvml: Any, handle: Any, probe_s: float = 3.0) -> float | None:
    changes, last, t_last = [], nvml.nvmlDeviceGetPowerUsage(handle), time.monotonic()
    deadline = time.monotonic() + probe_s
    while time.monotonic() < deadline:
        p = nvml.nvmlDeviceGetPowerUsage(handle)
        if p != last:
            now = time.monotonic()
            changes.append(now - t_last)
            last, t_last = p, now
        time.sleep(0.002)
    return statistics.median(changes[1:]) if len(changes) > 2 else None


class PowerIntegrator(threading.Thread):
    """Integrates NVML power (trapezoid rule) every ``period_s``."""

    def __init__(self, nvml: Any, handle: Any, period_s: float) -> None:
        super().__init__(daemon=True)
        self.nvml, self.handle, self.period_s = nvml, handle, period_s
        self.energy_j = 0.0
        self._stop = threading.Event()

    def run(self) -> None:
        t0, p0 = time.monotonic(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000
        while not self._stop.wait(self.period_s):
            t1, p1 = time.monotonic(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000
            self.energy_j += (p0 + p1) / 2 * (t1 - t0)
            t0, p0 = t1, p1

    def stop(self) -> float:
        self._stop.set()
        self.join()
        return self.energy_j


class SmiPoller(threading.Thread):
    """Polls nvidia-smi power.draw once a second, as peer tools do (power x interval)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.energy_j = 0.0
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(1.0):
            out = subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=power.draw",
                    "--format=csv,noheader,nounits",
                    "-i",
                    "0",
                ],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            try:
                self.energy_j += float(out.splitlines()[0]) * 1.0  # W x the 1 s poll period,
            except (ValueError, IndexError):  # as peers bill it (the query's own time ignored)
                continue

    def stop(self) -> float:
        self._stop.set()
        self.join()
        return self.energy_j


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="workload length per phase")
    ap.add_argument("--size", type=int, default=8192, help="matrix size")
    args = ap.parse_args()

    nvml = need("pynvml", "nvidia-ml-py")
    torch = need("torch", "torch")
    if not torch.cuda.is_available():
        sys.exit("gpu_check: torch sees no CUDA GPU; run this on a GPU machine")
    import wattprint

    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    name = nvml.nvmlDeviceGetName(h)
    print(
        f"device: {name if isinstance(name, str) else name.decode()}; driver "
        f"{nvml.nvmlSystemGetDriverVersion()}; NVML {nvml.nvmlSystemGetNVMLVersion()}; "
        f"torch {torch.__version__}; CUDA {torch.version.cuda}"
    )
    period = power_update_period_s(nvml, h)
    print(
        f"power reading update period: {period * 1e3:.0f} ms"
        if period
        else "power reading update period: not detected (constant reading)"
    )

    matmul_for(torch, 2.0, args.size)  # warm-up: clocks, cuBLAS heuristics
    # 1. Energy three ways over the same workload.
    try:
        e0 = nvml.nvmlDeviceGetTotalEnergyConsumption(h)
    except nvml.NVMLError:
        sys.exit(
            "gpu_check: GPU 0 has no energy counter (pre-Volta): compare against a wall "
            "meter instead; wattprint integrates power on such boards"
        )
    integ = PowerIntegrator(nvml, h, period or 0.1)
    smi = SmiPoller() if shutil.which("nvidia-smi") else None
    integ.start()
    if smi:
        smi.start()
    with wattprint.Tracker(project="gpu_check", scope="machine", db=False) as tracker:
        t0 = time.monotonic()
        matmul_for(torch, args.seconds, args.size)
        wall = time.monotonic() - t0
    counter_j = (nvml.nvmlDeviceGetTotalEnergyConsumption(h) - e0) / 1000
    integ_j = integ.stop()
    smi_j = smi.stop() if smi else float("nan")
    gpu = [  # GPU 0 only, like the references
        c
        for c in tracker.run.components  # type: ignore[union-attr]
        if c.name == "gpu" and c.device.startswith("GPU 0 ")
    ]
    wp_j = sum(c.energy_j for c in gpu)
    print(f"\nworkload {wall:.1f} s")
    print(f"  NVML energy counter        {counter_j:10.1f} J   (reference)")
    print(
        f"  wattprint (GPU components) {wp_j:10.1f} J   {wp_j / counter_j - 1:+.2%}  "
        f"[{', '.join(c.method for c in gpu) or 'no GPU component!'}]"
    )
    print(f"  NVML power, integrated     {integ_j:10.1f} J   {integ_j / counter_j - 1:+.2%}")
    print(f"  nvidia-smi polled at 1 Hz  {smi_j:10.1f} J   {smi_j / counter_j - 1:+.2%}")

    # 2. Window sync: end a window right after queuing kernels.
    a = torch.randn(args.size, args.size, device="cuda", dtype=torch.float16)
    for mode in ("off", "auto"):
        tracker = wattprint.Tracker(scope="machine", db=False, sync=mode).start()
        torch.cuda.synchronize()
        tracker.begin_window("burst")
        for _ in range(200):
            a @ a  # queued, not finished
        w = tracker.end_window("burst")
        torch.cuda.synchronize()
        tracker.stop()
        gpu_j = sum(c.energy_j for c in w.components if c.name == "gpu")
        print(f"  window with sync={mode:4}: {w.duration_s * 1e3:7.1f} ms, GPU {gpu_j:8.1f} J")

    # 3. Slowdown of the workload by the tracker at 1 Hz and 10 Hz.
    base = matmul_for(torch, args.seconds / 2, args.size)
    for interval in (1.0, 0.1):
        with wattprint.Tracker(scope="process", interval_s=interval, db=False):
            n = matmul_for(torch, args.seconds / 2, args.size)
        print(
            f"  throughput with tracker at {1 / interval:4.0f} Hz: {n / base:.4f} x baseline "
            f"({n} vs {base} matmuls)"
        )
    nvml.nvmlShutdown()


if __name__ == "__main__":
    main()
