"""``wattprint run [options] -- CMD ARGS...``: run a command, measure its process tree."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from wattprint.cli import UsageError
from wattprint.cli.child import ChildRunner, exit_code
from wattprint.cli.format import duration, energy, mass
from wattprint.records.run import Run
from wattprint.tracker import MIN_INTERVAL_S, Tracker, write_json


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--json {path} is a directory; give a file path, e.g. {path}/run.json")
    if not parent.is_dir():
        raise UsageError(f"--json {path}: directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--json {path} is not writable; choose another path")


def run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; usage: wattprint run [options] -- CMD [ARGS...]")
    if shutil.which(cmd[0]) is None:
        raise UsageError(f"command not found: {cmd[0]!r}; check the name and PATH")
    if not (math.isfinite(args.interval) and args.interval >= MIN_INTERVAL_S):
        raise UsageError(
            f"--interval {args.interval:g} is out of range; give seconds between "
            f"samples, from {MIN_INTERVAL_S:g} up, e.g. --interval 1"
        )
    if not (math.isfinite(args.pue) and args.pue >= 1.0):
        raise UsageError(
            f"--pue {args.pue:g} is not a number >= 1; PUE is facility energy / IT energy "
            "(1.0 = no overhead, typical data centres 1.1-1.6)"
        )
    if args.scope not in ("process", "machine"):
        raise UsageError(
            f"--scope {args.scope!r} is unknown; use --scope process (default) or --scope machine"
        )
    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        _check_writable(json_path)
    tracker = Tracker(
        project=args.project,
        zone=args.zone,
        scope=args.scope,
        interval_s=args.interval,
        pue=args.pue,
    )
    with ChildRunner() as runner:  # before start(): the sampler thread inherits the signal mask
        tracker.start()
        try:
            code = exit_code(runner.run(cmd))
        except OSError as exc:
            tracker.stop()
            raise UsageError(
                f"cannot run {cmd[0]!r}: {exc.strerror or exc}; check the name and PATH"
            ) from None
        record = replace(tracker.stop(), exit_code=code)
        # Still inside: a signal that arrives now waits until the record is written.
        if json_path is not None:
            write_json(record, json_path)
        print(summary(record), file=sys.stderr)
        runner.drain()  # the child is gone: nothing left to forward to
    return code


def summary(run: Run) -> str:
    lines = [
        f"wattprint: {duration(run.duration_s)}, {energy(run.energy_kwh)} "
        f"(±{run.uncertainty_pct:.0f} %), scope {run.scope}"
    ]
    if run.co2_kg is not None:
        lines[0] += (
            f", {mass(run.co2_kg)} CO2e ({run.zone}, {run.intensity_g_per_kwh:g} "
            f"g/kWh, PUE {run.pue:g})"
        )
    else:
        lines[0] += ", CO2 not computed: no zone (pass --zone or set WATTPRINT_ZONE)"
    for c in run.components:
        gap = f", gap {c.gap_s:.1f} s" if c.gap_s else ""
        lines.append(
            f"  {c.name:8} {c.device[:28]:28} {energy(c.energy_kwh):>10}  "
            f"{c.provenance:10} {c.method} ±{c.uncertainty_pct:g} %{gap}"
        )
    return "\n".join(lines)
