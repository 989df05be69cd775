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
if mode != "baseline":
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
c0 = time.process_time()
time.sleep(seconds)
c1 = time.process_time()
out["cpu_s"] = c1 - c0
out["rss_added_kib"] = rss_kib() - rss0
if mode != "baseline":
    run = tracker.stop()
    out["samples"] = run.samples
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


def wall_ms(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def verdict(value: float, budget: float) -> str:
    return f"{value / budget:5.2f}x budget  {'ok' if value <= budget else 'OVER'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    bare = wall_ms("pass", args.runs)
    with_import = wall_ms("import wattprint", args.runs)
    import_ms = with_import - bare
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, medians\n")
    print(
        f"import wattprint      {import_ms:7.1f} ms over bare python ({bare:.1f} -> "
        f"{with_import:.1f} ms)   {verdict(import_ms, BUDGET_IMPORT_MS)}"
    )

    base = child("baseline", args.seconds)
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
    for label, r in (("1 Hz", hz1), ("10 Hz", hz10)):
        cpu_s = r["cpu_s"] - base["cpu_s"]
        pct = 100 * cpu_s / args.seconds
        per_tick_us = 1e6 * cpu_s / max(1, r["samples"])
        line = (
            f"sampler CPU at {label:5}  {cpu_s * 1e3:7.2f} ms per {args.seconds:g} s = "
            f"{pct:.4f} % of a core ({r['samples']:.0f} samples, {per_tick_us:.0f} µs each)"
        )
        print(line + (f"   {verdict(pct, BUDGET_CPU_PCT_1HZ)}" if label == "1 Hz" else ""))
    rss_mib = (hz1["rss_added_kib"] - base["rss_added_kib"]) / 1024
    print(
        f"RSS added             {rss_mib:7.2f} MiB (import + running tracker, after "
        f"{args.seconds:g} s)      {verdict(rss_mib, BUDGET_RSS_MIB)}"
    )


if __name__ == "__main__":
    main()
