"""Overhead of wattprint against the budgets in DEVELOPERS.md.

Prints, each against a baseline measured in the same run:
- import time: `python -c "import wattprint"` minus `python -c "pass"` (median of N runs);
- start() latency: first Tracker in a process (cold) and a second one (warm);
- sampler CPU: CPU time this process uses over an idle 10 s with a Tracker sampling at 1 Hz
  and at 10 Hz, minus the same 10 s without a tracker;
- RSS added by import + a running tracker after the 10 s.

Run: python benchmarks/overhead.py [--seconds 10] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

BUDGET_IMPORT_MS = 30.0
BUDGET_START_MS = 10.0
BUDGET_CPU_PCT_1HZ = 0.02
BUDGET_RSS_MIB = 8.0

CHILD = r"""
import json, os, sys, time, resource, warnings
warnings.simplefilter("ignore")

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

mode, seconds = sys.argv[1], float(sys.argv[2])
rss0 = rss_kib()
out = {}
if mode not in ("baseline", "noop"):
    t0 = time.perf_counter()
    import wattprint
    t1 = time.perf_counter()
    tracker = wattprint.Tracker(interval_s=float(mode), scope="process")
    t2 = time.perf_counter()
    tracker.start()
    t3 = time.perf_counter()
    warm = wattprint.Tracker(interval_s=float(mode))
    t4 = time.perf_counter()
    warm.start()
    t5 = time.perf_counter()
    warm.stop()
    out.update(import_ms=(t1 - t0) * 1e3, start_cold_ms=(t3 - t2) * 1e3,
               start_warm_ms=(t5 - t4) * 1e3)
if mode == "noop":
    # The floor: a thread that wakes at 1 Hz and does nothing.
    import threading
    lock = threading.Lock(); lock.acquire()
    def idle():
        while True:
            lock.acquire(timeout=1.0)
    threading.Thread(target=idle, daemon=True).start()
# Warm-up: the first tick resolves the CPU model (one database lookup per process).
w0 = time.process_time()
time.sleep(1.5)
out["warmup_cpu_s"] = time.process_time() - w0
samples0 = len(tracker.meter.timeline) if mode not in ("baseline", "noop") else 0
c0 = time.process_time()
time.sleep(seconds)
c1 = time.process_time()
out["cpu_s"] = c1 - c0
out["ticks"] = (len(tracker.meter.timeline) - samples0) if mode not in ("baseline", "noop") else 0
out["rss_added_kib"] = rss_kib() - rss0
if mode not in ("baseline", "noop"):
    tracker.stop()
print(json.dumps(out))
"""


def child(mode: str, seconds: float) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def wall_ms(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t0) * 1e3


def verdict(value: float, budget: float) -> str:
    return f"{value / budget:5.2f}x budget  {'ok' if value <= budget else 'OVER'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    codes = {
        "bare": "pass",
        "import": "import wattprint",
        "tracker": "from wattprint import Tracker",
    }
    times: dict[str, list[float]] = {k: [] for k in codes}
    for _ in range(args.runs):  # interleaved, so drift in the machine's speed hits all alike
        for key, code in codes.items():
            times[key].append(wall_ms(code))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, medians\n")
    for key, label in (("import", "import wattprint"), ("tracker", "+ Tracker class")):
        over = med[key] - med["bare"]
        print(
            f"{label:21} {over:7.1f} ms over bare python ({med['bare']:.1f} -> "
            f"{med[key]:.1f} ms)   {verdict(over, BUDGET_IMPORT_MS)}"
        )

    base = child("baseline", args.seconds)
    noop = child("noop", args.seconds)
    hz1 = child("1.0", args.seconds)
    hz10 = child("0.1", args.seconds)
    print(
        f"start() cold          {hz1['start_cold_ms']:7.2f} ms (first tracker in the process)"
        f"   {verdict(hz1['start_cold_ms'], BUDGET_START_MS)}"
    )
    print(
        f"start() warm          {hz1['start_warm_ms']:7.2f} ms (a second tracker)"
        f"                  {verdict(hz1['start_warm_ms'], BUDGET_START_MS)}"
    )
    floor_s = noop["cpu_s"] - base["cpu_s"]
    print(
        f"wake-up floor at 1 Hz {floor_s * 1e3:7.2f} ms per {args.seconds:g} s = "
        f"{100 * floor_s / args.seconds:.4f} % of a core (a thread that wakes and does "
        "nothing: the machine's cost of a timed wake-up)"
    )
    for label, r in (("1 Hz", hz1), ("10 Hz", hz10)):
        cpu_s = r["cpu_s"] - base["cpu_s"]
        pct = 100 * cpu_s / args.seconds
        per_tick_us = 1e6 * cpu_s / max(1, r["ticks"])
        line = (
            f"sampler CPU at {label:5}  {cpu_s * 1e3:7.2f} ms per {args.seconds:g} s = "
            f"{pct:.4f} % of a core ({r['ticks']:.0f} ticks, {per_tick_us:.0f} µs each, "
            f"{per_tick_us / max(1e-9, 1e6 * floor_s / args.seconds):.1f}x the wake-up floor)"
        )
        print(line + (f"   {verdict(pct, BUDGET_CPU_PCT_1HZ)}" if label == "1 Hz" else ""))
    first_ms = (hz1["warmup_cpu_s"] - base["warmup_cpu_s"]) * 1e3
    print(f"first 1.5 s at 1 Hz   {first_ms:7.2f} ms (one-off: CPU database lookup, first ticks)")
    rss_mib = (hz1["rss_added_kib"] - base["rss_added_kib"]) / 1024
    print(
        f"RSS added             {rss_mib:7.2f} MiB (import + running tracker, after "
        f"{args.seconds:g} s)      {verdict(rss_mib, BUDGET_RSS_MIB)}"
    )


if __name__ == "__main__":
    main()
