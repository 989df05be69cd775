"""Does the estimate follow the load? A single-thread Python loop and a two-thread numpy run
of the same length, each measured by a Tracker (process scope), on this machine.

Prints CPU time, CPU energy and their ratios. The TDP model is linear in CPU time, so the
energy *above the idle floor* must scale with CPU time, and the total ratio must match the
model's prediction from the measured CPU times.

Run: python benchmarks/load_following.py [--seconds 10] [--tdp 100]
"""

from __future__ import annotations

import argparse
import threading
import time
import warnings
from dataclasses import dataclass

import wattprint


@dataclass(frozen=True)
class Measured:
    label: str
    wall_s: float
    cpu_s: float  # this process's CPU time over the run
    cpu_energy_j: float
    max_w: float
    idle_w: float
    capacity_cpus: float

    @property
    def dynamic_j(self) -> float:
        return self.cpu_energy_j - self.idle_w * self.wall_s

    def predicted_j(self) -> float:
        """The model's energy if this process were the only load on the machine."""
        utilisation = min(1.0, self.cpu_s / (self.wall_s * self.capacity_cpus))
        return (self.idle_w + (self.max_w - self.idle_w) * utilisation) * self.wall_s


def single_thread_loop(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    x = 0
    while time.monotonic() < deadline:
        for i in range(10_000):
            x += i * i


def two_thread_numpy(seconds: float) -> None:
    import numpy as np

    def work() -> None:
        a = np.random.default_rng(0).random(1_000_000)
        out = np.empty_like(a)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            np.sqrt(a, out=out)  # large ufuncs release the GIL: two threads, two cores
            np.exp(out, out=out)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure(label: str, workload: object, seconds: float, tdp_w: float) -> Measured:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracker = wattprint.Tracker(cpu_tdp_w=tdp_w, interval_s=0.5).start()
        c0, t0 = time.process_time(), time.monotonic()
        workload(seconds)  # type: ignore[operator]
        cpu_s, wall_s = time.process_time() - c0, time.monotonic() - t0
        run = tracker.stop()
    cpu = run.component("cpu")[0]
    d = cpu.details
    return Measured(
        label,
        wall_s,
        cpu_s,
        cpu.energy_j,
        float(d["max_power_w"]),
        float(d["idle_power_w"]),
        float(d["capacity_cpus"]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--tdp", type=float, default=100.0, help="cpu_tdp_w override, W")
    args = ap.parse_args()
    one = measure("1 thread, pure Python", single_thread_loop, args.seconds, args.tdp)
    two = measure("2 threads, numpy", two_thread_numpy, args.seconds, args.tdp)
    print(
        f"model: {one.idle_w:g}-{one.max_w:g} W over {one.capacity_cpus:g} CPUs "
        f"(cpu_tdp_w={args.tdp:g})\n"
    )
    print(
        f"{'run':24} {'wall s':>7} {'CPU s':>7} {'energy J':>9} {'above idle J':>13} {'model J':>8}"
    )
    for m in (one, two):
        print(
            f"{m.label:24} {m.wall_s:7.2f} {m.cpu_s:7.2f} {m.cpu_energy_j:9.1f} "
            f"{m.dynamic_j:13.1f} {m.predicted_j():8.1f}"
        )
    print(f"\nCPU time ratio            {two.cpu_s / one.cpu_s:6.3f}")
    print(
        f"energy above idle ratio   {two.dynamic_j / one.dynamic_j:6.3f}  (should match "
        "the CPU time ratio)"
    )
    print(
        f"total energy ratio        {two.cpu_energy_j / one.cpu_energy_j:6.3f}  (model "
        f"predicts {two.predicted_j() / one.predicted_j():.3f})"
    )


if __name__ == "__main__":
    main()
