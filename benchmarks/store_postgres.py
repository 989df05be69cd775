"""What a run's store writes cost on PostgreSQL, against the SQLite file in the same process.

Each engine gets a new store; one run is begun, checkpointed 20 times with a 600-point
timeline (what the sampler thread writes every `checkpoint_s`, 10 s by default) and finished;
then 8 processes write 25 runs each at once (begin, checkpoint, finish) to show writers from
several machines sharing one store. The PostgreSQL server is a real one on 127.0.0.1, started
as the tests start it (`tests/pg.py`), so its figures include a loopback round trip — a remote
team store adds the network's.

    python benchmarks/store_postgres.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg import postgres_session  # noqa: E402
from tests.records.store_helpers import make_run, make_timeline, subprocess_env  # noqa: E402
from wattprint.records.store import RunStore  # noqa: E402

WRITER = """
import sys
from dataclasses import replace
from tests.records.store_helpers import make_run, make_timeline
from wattprint.records.store import RunStore
store = RunStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    run = make_run(f"{sys.argv[2]}-{i}", status="running", ended_at=None)
    store.begin(run)
    store.checkpoint(run, make_timeline(600))
    store.finish(replace(run, status="finished"), make_timeline(600))
store.close()
"""


def one_run(target: Path | str) -> dict[str, float]:
    """Milliseconds: open (connect, schema check), begin, median checkpoint, finish."""
    t0 = time.perf_counter()
    store = RunStore(target)
    opened = time.perf_counter() - t0
    run = make_run("bench", status="running", ended_at=None)
    t0 = time.perf_counter()
    store.begin(run)
    begun = time.perf_counter() - t0
    checkpoints = []
    timeline = make_timeline(600)
    for i in range(20):
        t0 = time.perf_counter()
        store.checkpoint(replace(run, energy_kwh=0.001 * i), timeline)
        checkpoints.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    store.finish(replace(run, status="finished"), timeline)
    finished = time.perf_counter() - t0
    store.close()
    return {
        "open": opened * 1000,
        "begin": begun * 1000,
        "checkpoint": statistics.median(checkpoints) * 1000,
        "finish": finished * 1000,
    }


def many_writers(target: Path | str, processes: int = 8, runs_each: int = 25) -> float:
    """Runs written per second by ``processes`` writers at once."""
    env = subprocess_env()
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(target), f"w{p}", str(runs_each)],
                         env=env, cwd=ROOT)
        for p in range(processes)
    ]  # fmt: skip
    codes = [p.wait(timeout=300) for p in procs]
    elapsed = time.perf_counter() - t0
    if any(codes):
        raise SystemExit(f"a writer failed: {codes}")
    with RunStore(target) as store:
        n = len(store.list())
    if n != processes * runs_each:
        raise SystemExit(f"lost runs: {n} of {processes * runs_each}")
    return n / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, postgres_session() as server:
        targets: dict[str, Path | str] = {
            "sqlite": Path(tmp) / "runs.sqlite3",
            "postgresql": server.new_database(),
        }
        rows = {name: one_run(t) for name, t in targets.items()}
        print(f"{'ms':<12}{'sqlite':>10}{'postgresql':>12}{'ratio':>8}")
        for key in ("open", "begin", "checkpoint", "finish"):
            a, b = rows["sqlite"][key], rows["postgresql"][key]
            print(f"{key:<12}{a:>10.2f}{b:>12.2f}{b / a:>7.1f}x")
        more: dict[str, Path | str] = {
            "sqlite": Path(tmp) / "many.sqlite3",
            "postgresql": server.new_database(),
        }
        rates = {name: many_writers(t) for name, t in more.items()}
        print(
            f"8 writers at once: sqlite {rates['sqlite']:.0f} runs/s, "
            f"postgresql {rates['postgresql']:.0f} runs/s "
            f"({rates['postgresql'] / rates['sqlite']:.2f}x), no run lost"
        )


if __name__ == "__main__":
    main()
