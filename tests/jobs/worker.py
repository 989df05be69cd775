"""One rank of a real multi-process job for tests/jobs (run with ``python -m``).

    python -m tests.jobs.worker {gloo|gloo-dies|slurm} OUT_DIR

``gloo``: torch.distributed with the gloo backend on 127.0.0.1 (MASTER_ADDR/PORT, RANK,
WORLD_SIZE, LOCAL_RANK and WATTPRINT_NODE_ID from the test); ``gloo-dies``: the same, and the
last rank exits before it stops tracking; ``slurm``: no torch.distributed, SLURM variables
only. Each rank does a little real CPU work over two epochs and writes what ``stop()`` returned
to OUT_DIR/rank-N.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def work(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def main() -> None:
    mode, out = sys.argv[1], Path(sys.argv[2])
    import wattprint

    if mode.startswith("gloo"):
        import torch.distributed as dist

        dist.init_process_group("gloo", init_method="env://")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = int(os.environ["SLURM_PROCID"]), int(os.environ["SLURM_NTASKS"])
    t0 = time.monotonic()
    tracker = wattprint.JobTracker(project="multi", zone="DE", interval_s=0.05).start()
    if mode.startswith("gloo"):
        dist.barrier()  # as training starts: every rank's first collective
    for _ in range(2):
        work(0.15)
        tracker.epoch(loss=1.0 / (rank + 1))
    if mode == "gloo-dies" and rank == world - 1:
        os._exit(3)  # dies: never reports
    if mode == "gloo":
        dist.barrier()  # as training ranks end together (their last collective)
    run = tracker.stop()
    doc = {
        "rank": rank,
        "measures": tracker.measures,
        "stop_s": time.monotonic() - t0,
        "run": run.to_dict() if run is not None else None,
    }
    (out / f"rank-{rank}.json").write_text(json.dumps(doc))


if __name__ == "__main__":
    main()
