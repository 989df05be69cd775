"""How fast the dashboard answers over a store of 10,000 runs (issue #12: a page in <= 300 ms).

Each page is requested over HTTP from the real server on 127.0.0.1 (best of 5); the baseline,
in the same process, is `RunStore.list(limit=100)` — what `wattprint runs` does for the same
100 rows.

    python benchmarks/dashboard.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.records.store_helpers import make_run, make_timeline
from wattprint.dashboard.server import make
from wattprint.records.reader import StoreReader
from wattprint.records.store import RunStore

PAGES = (
    "/",
    "/?project=project-3&status=finished",
    "/?since=2026-03-01&until=2026-03-31&offset=200",
    "/run/RUN",
    "/projects",
    "/compare?run=RUN&run=RUN2",
    "/esg?from=2026-01-01&to=2026-12-31",
)


def fill(path: Path, n: int) -> list[str]:
    base = make_run()
    ids = []
    with RunStore(path) as store:
        for i in range(n):
            day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
            run = replace(
                base,
                run_id=f"bench{i:08d}",
                project=f"project-{i % 20}",
                started_at=f"{day}T{i % 24:02d}:00:00.000Z",
                ended_at=f"{day}T{i % 24:02d}:00:10.000Z",
                tags=(f"tag-{i % 7}",),
                energy_kwh=0.001 * (1 + i % 50),
            )
            store.import_run(run)
            ids.append(run.run_id)
        store.finish(replace(base, run_id="bench-timeline"), make_timeline(4096))
    return ids


def best_ms(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10_000)
    n = p.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.sqlite3"
        t0 = time.perf_counter()
        ids = fill(db, n)
        print(f"store: {n:,} runs written in {time.perf_counter() - t0:.1f} s")
        with RunStore(db) as store:
            baseline = best_ms(lambda: store.list(limit=100))
        with StoreReader(db) as reader:
            server = make(reader, "127.0.0.1", 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{server.server_port}"
            print(f"baseline RunStore.list(limit=100): {baseline:.1f} ms")
            worst = 0.0
            for page in PAGES:
                path = page.replace("RUN2", ids[1]).replace("RUN", "bench-timeline")

                def fetch(path: str = path) -> None:
                    with urllib.request.urlopen(url + path, timeout=30) as resp:
                        resp.read()

                ms = best_ms(fetch)
                worst = max(worst, ms)
                print(f"  GET {path[:60]:60} {ms:7.1f} ms  ({ms / baseline:.1f}x baseline)")
            server.shutdown()
            server.server_close()
    print(f"slowest page: {worst:.1f} ms (budget 300 ms)")


if __name__ == "__main__":
    main()
