"""Overhead of wattprint against the budgets in DEVELOPERS.md, measured as users run it.

Prints, each against a baseline measured in the same run:
- import: ``python -c "from wattprint import Tracker"`` minus ``python -c "import wattprint"``
  (medians of interleaved runs), and the same import timed inside the process (which
  ``-X importtime`` misses behind the package's lazy ``__getattr__``);
- ``wattprint run -- true`` minus ``python -c pass``, run store on (a fresh store in a
  temporary directory, the default users get) and off;
- ``Tracker()``, ``start()`` (cold: first tracker in the process; warm: a second) and
  ``stop()``;
- sampler CPU: CPU time a process spends over an idle N s with a tracker sampling at 1 Hz and
  10 Hz, minus the same N s without one, store on and off; the wake-up floor is a thread that
  wakes at 1 Hz and does nothing;
- RSS added by import + a running tracker.

Run: python benchmarks/overhead.py [--seconds 10] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_IMPORT_MS = 15.0  # from wattprint import Tracker, over import wattprint
BUDGET_RUN_MS = 40.0  # wattprint run -- true, over python -c pass
BUDGET_START_MS = 10.0
BUDGET_CPU_MS_PER_10S = 3.0  # 0.03 % of a core at 1 Hz
BUDGET_RSS_MIB = 8.0

CHILD = r"""
import json, os, sys, time, warnings
warnings.simplefilter("ignore")

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

mode, seconds = sys.argv[1], float(sys.argv[2])
rss0 = rss_kib()
out = {}
tracker = None
if mode not in ("baseline", "noop"):
    t0 = time.perf_counter()
    import wattprint
    t1 = time.perf_counter()
    from wattprint import Tracker
    t2 = time.perf_counter()
    tracker = Tracker(interval_s=float(mode), scope="process")
    t3 = time.perf_counter()
    tracker.start()
    t4 = time.perf_counter()
    out.update(import_ms=(t1 - t0) * 1e3, tracker_import_ms=(t2 - t1) * 1e3,
               init_ms=(t3 - t2) * 1e3, start_cold_ms=(t4 - t3) * 1e3)
if mode == "noop":
    # The floor: a thread that wakes at 1 Hz and does nothing.
    import threading
    lock = threading.Lock(); lock.acquire()
    def idle():
        while True:
            lock.acquire(timeout=1.0)
    threading.Thread(target=idle, daemon=True).start()
# Warm-up: the first ticks resolve the CPU model and write the run's first row.
w0 = time.process_time()
time.sleep(1.5)
out["warmup_cpu_s"] = time.process_time() - w0
if tracker is not None:  # a second tracker, once the first one's first tick is done
    t5 = time.perf_counter()
    warm = Tracker(interval_s=float(mode))
    warm.start()
    t6 = time.perf_counter()
    warm.stop()
    t7 = time.perf_counter()
    out.update(start_warm_ms=(t6 - t5) * 1e3, stop_ms=(t7 - t6) * 1e3)
reads0 = tracker.meter.reads if tracker else 0
c0 = time.process_time()
time.sleep(seconds)
c1 = time.process_time()
out["cpu_s"] = c1 - c0
out["ticks"] = (tracker.meter.reads - reads0) if tracker else 0
out["rss_added_kib"] = rss_kib() - rss0
if tracker:
    tracker.stop()
print(json.dumps(out))
"""


def child(mode: str, seconds: float, env: dict[str, str]) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1e3


def verdict(value: float, budget: float) -> str:
    return f"{value / budget:5.2f}x budget  {'ok' if value <= budget else 'OVER'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wattprint-bench-"))
    # As users run it: pip writes the package's bytecode at install; a PYTHONDONTWRITEBYTECODE
    # environment (CI images set it) would instead time compiling every module on each run.
    import compileall

    import wattprint

    compileall.compile_dir(Path(wattprint.__file__).parent, quiet=1)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATTPRINT_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    store_on = {**clean, "WATTPRINT_DB": str(tmp / "runs.sqlite3")}
    store_off = {**clean, "WATTPRINT_DB": "off"}
    wattprint_cli = [sys.executable, "-m", "wattprint"]
    if shutil.which("wattprint"):
        wattprint_cli = [shutil.which("wattprint") or "wattprint"]
    true = shutil.which("true") or "/bin/true"
    cases = {
        "bare": ([sys.executable, "-c", "pass"], store_on),
        "import": ([sys.executable, "-c", "import wattprint"], store_on),
        "tracker": ([sys.executable, "-c", "from wattprint import Tracker"], store_on),
        "run_on": ([*wattprint_cli, "run", "--", true], store_on),
        "run_off": ([*wattprint_cli, "run", "--", true], store_off),
    }
    wall_ms(*cases["run_on"])  # creates the store once (a one-off fsync), outside the timing
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.runs):  # interleaved, so drift in the machine's speed hits all alike
        for key, (argv, env) in cases.items():
            times[key].append(wall_ms(argv, env))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, medians\n")
    print(f"python -c pass          {med['bare']:7.1f} ms")
    print(f"import wattprint        {med['import'] - med['bare']:7.1f} ms over bare python")
    over = med["tracker"] - med["import"]
    print(
        f"+ Tracker class         {over:7.1f} ms over import wattprint "
        f"({med['import']:.1f} -> {med['tracker']:.1f} ms)   {verdict(over, BUDGET_IMPORT_MS)}"
    )
    for key, label in (("run_on", "store on "), ("run_off", "store off")):
        over = med[key] - med["bare"]
        print(
            f"run -- true, {label}  {over:7.1f} ms over python -c pass "
            f"({med[key]:.1f} ms)   {verdict(over, BUDGET_RUN_MS)}"
        )

    base = child("baseline", args.seconds, store_on)
    noop = child("noop", args.seconds, store_on)
    floor_s = noop["cpu_s"] - base["cpu_s"]
    runs = {
        ("on", "1 Hz"): child("1.0", args.seconds, store_on),
        ("on", "10 Hz"): child("0.1", args.seconds, store_on),
        ("off", "1 Hz"): child("1.0", args.seconds, store_off),
    }
    hz1 = runs[("on", "1 Hz")]
    print(
        f"\nin-process, store on:\n"
        f"  from wattprint import Tracker {hz1['tracker_import_ms']:6.2f} ms"
        f"   {verdict(hz1['tracker_import_ms'], BUDGET_IMPORT_MS)}\n"
        f"  Tracker()             {hz1['init_ms']:7.2f} ms (settings, zone, store check)\n"
        f"  start() cold          {hz1['start_cold_ms']:7.2f} ms (first tracker: loads the "
        f"sensors)   {verdict(hz1['start_cold_ms'], BUDGET_START_MS)}\n"
        f"  start() warm          {hz1['start_warm_ms']:7.2f} ms (a second tracker)"
        f"   {verdict(hz1['start_warm_ms'], BUDGET_START_MS)}\n"
        f"  stop()                {hz1['stop_ms']:7.2f} ms (final reading, record, store write)"
    )
    print(
        f"\nwake-up floor at 1 Hz   {floor_s * 1e3:7.2f} ms per {args.seconds:g} s (a thread "
        "that wakes and does nothing: the machine's cost of a timed wake-up)"
    )
    for (store, label), r in runs.items():
        cpu_ms = (r["cpu_s"] - base["cpu_s"]) * 1e3
        per_10s = cpu_ms * 10.0 / args.seconds
        per_tick_us = 1e3 * cpu_ms / max(1, r["ticks"])
        line = (
            f"sampler at {label:5}, store {store:3}  {per_10s:6.2f} ms CPU per 10 s "
            f"({100 * cpu_ms / 1e3 / args.seconds:.4f} % of a core; {r['ticks']:.0f} "
            f"readings, {per_tick_us:.0f} µs each)"
        )
        print(line + (f"   {verdict(per_10s, BUDGET_CPU_MS_PER_10S)}" if label == "1 Hz" else ""))
    first_ms = (hz1["warmup_cpu_s"] - base["warmup_cpu_s"]) * 1e3
    print(
        f"first 1.5 s at 1 Hz     {first_ms:7.2f} ms CPU (one-off, on the sampler thread: CPU "
        "database, record modules, store and the run's first row)"
    )
    rss_mib = (hz1["rss_added_kib"] - base["rss_added_kib"]) / 1024
    print(
        f"RSS added               {rss_mib:7.2f} MiB (import + running tracker, store on, "
        f"after {args.seconds:g} s)   {verdict(rss_mib, BUDGET_RSS_MIB)}"
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
