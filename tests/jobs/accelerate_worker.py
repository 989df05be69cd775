"""A rank of a real Hugging Face Accelerate job launched by torchrun (tests/jobs): Accelerate
initialises torch.distributed (gloo on the CPU); JobTracker needs nothing more."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from accelerate import Accelerator

import wattprint

accelerator = Accelerator(cpu=True)
tracker = wattprint.JobTracker(project="accelerate", zone="DE", interval_s=0.05).start()
x = 0
for i in range(200_000):
    x += i
tracker.epoch(loss=0.5)
run = tracker.stop()
doc = {"measures": tracker.measures, "run": run.to_dict() if run is not None else None}
Path(sys.argv[1], f"rank-{accelerator.process_index}.json").write_text(json.dumps(doc))
