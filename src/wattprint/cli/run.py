"""``wattprint run [options] -- CMD ARGS...``: run a command and measure its process tree.

Everything that could fail after the command has run (store, CSV, JSON paths; zone; numbers)
is checked before it starts: a bad option costs a one-line error (exit 2), never a lost run.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattprint.cli.child import ChildRunner, exit_code
from wattprint.cli.format import duration, energy, mass
from wattprint.errors import UsageError, WattprintError
from wattprint.records.jsonfile import check_output_path
from wattprint.records.run import J_PER_KWH, Run

if TYPE_CHECKING:
    from wattprint.tracker import Tracker


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "run", help="run a command and measure it", usage="wattprint run [options] -- CMD [ARGS...]"
    )
    p.add_argument("--project", default="default", help="project name (default: default)")
    p.add_argument("--experiment", help="experiment name or description")
    p.add_argument("--tag", action="append", default=[], help="a tag; repeat for more")
    p.add_argument("--zone", help="grid zone for CO2, e.g. DE, FR, US (default: $WATTPRINT_ZONE)")
    p.add_argument(
        "--scope",
        default="process",
        help="process (the command's process tree, default) or machine",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between samples (default 1)",
    )
    p.add_argument(
        "--pue",
        default="1.0",
        help="data-centre PUE: a number >= 1 (default 1), 'datacenter' (industry "
        "average 1.58) or 'cloud' (the --zone cloud region's published PUE)",
    )
    p.add_argument(
        "--tariff",
        metavar="SPEC",
        help="electricity price per kWh, flat ('0.30') or by time of day "
        "('00:00-07:00=0.15,07:00-24:00=0.30'; default: $WATTPRINT_TARIFF)",
    )
    p.add_argument("--json", metavar="PATH", help="write the run record as JSON")
    p.add_argument("--csv", metavar="PATH", help="append the run as a row to a CSV file")
    p.add_argument(
        "--db", metavar="PATH", help="run store (default: $WATTPRINT_DB or the user data directory)"
    )
    p.add_argument(
        "--checkpoint",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between checkpoints of the record in the store (default 10)",
    )
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")


def _check_csv_header(path: Path) -> None:
    from wattprint.records.exports import CSV_COLUMNS

    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open(encoding="utf-8-sig", newline="") as f:
        first = f.readline().strip()
    if first != ",".join(CSV_COLUMNS):
        raise UsageError(
            f"--csv {path} has other columns than wattprint's; give a new file "
            "(for Eco2AI's format use `wattprint export --format eco2ai`)"
        )


def _check_numbers(args: argparse.Namespace) -> None:
    from wattprint.tracker import MAX_INTERVAL_S, MIN_INTERVAL_S

    if not (math.isfinite(args.interval) and MIN_INTERVAL_S <= args.interval <= MAX_INTERVAL_S):
        raise UsageError(
            f"--interval {args.interval:g} is out of range; give seconds between "
            f"samples, {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g}, e.g. --interval 1"
        )
    if args.pue not in ("datacenter", "cloud"):
        try:
            args.pue = float(args.pue)
        except ValueError:
            args.pue = math.nan
        if not (math.isfinite(args.pue) and args.pue >= 1.0):
            raise UsageError(
                "--pue is not a number >= 1; PUE is facility energy / IT energy (1.0 = no "
                "overhead), or give --pue datacenter (1.58) or --pue cloud"
            )
    if not (math.isfinite(args.checkpoint) and 0 < args.checkpoint <= 60):
        raise UsageError(
            f"--checkpoint {args.checkpoint:g} is out of range; give seconds between "
            "checkpoints, up to 60, e.g. --checkpoint 10"
        )
    if args.scope not in ("process", "machine"):
        raise UsageError(
            f"--scope {args.scope!r} is unknown; use --scope process (default) or --scope machine"
        )


class StatusLine:
    """A live one-line status on a terminal (stderr), redrawn about once a second."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.enabled = sys.stderr.isatty()
        self._shown = False

    def update(self) -> None:
        meter = self.tracker.meter
        last = meter.last if meter is not None else None
        first = meter.timeline.t_s[0] if meter is not None and len(meter.timeline) else None
        if not self.enabled or last is None or first is None:
            return
        elapsed_s = last.t_s - first
        energy_j = sum(last.energy_j)
        line = f"wattprint: {duration(elapsed_s)}, {energy(energy_j / J_PER_KWH)}"
        if elapsed_s > 0:
            line += f", {energy_j / elapsed_s:.3g} W average"
        co2 = self.tracker.co2_kg(energy_j / J_PER_KWH)
        if co2 is not None:
            line += f", {mass(co2)} CO2e"
        sys.stderr.write(f"\r\x1b[2K{line}")
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; usage: wattprint run [options] -- CMD [ARGS...]")
    if shutil.which(cmd[0]) is None:
        raise UsageError(f"command not found: {cmd[0]!r}; check the name and PATH")
    _check_numbers(args)
    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        check_output_path(json_path, "--json")
    from wattprint.records.signing import key_from_env

    key_from_env()  # a bad WATTPRINT_SIGNING_KEY is an error now, not after the command
    csv_path = Path(args.csv) if args.csv else None
    if csv_path is not None:
        check_output_path(csv_path, "--csv")
        _check_csv_header(csv_path)
    from wattprint.records.jsonfile import write_json
    from wattprint.tracker import Tracker

    tracker = Tracker(
        project=args.project,
        experiment=args.experiment,
        tags=args.tag,
        zone=args.zone,
        scope=args.scope,
        interval_s=args.interval,
        pue=args.pue,
        tariff=args.tariff,
        db=args.db,  # None: the default store; an explicit unwritable path is an error here
        checkpoint_s=args.checkpoint,
        command=cmd,
    )
    status = StatusLine(tracker)
    with ChildRunner() as runner:  # before start(): the sampler thread inherits the signal mask
        tracker.start()
        try:
            returncode = runner.run(cmd, on_wait=status.update)
        except OSError as exc:
            tracker.fail(f"the command could not start: {exc.strerror or exc}")
            tracker.stop(exit_code=127)
            raise UsageError(
                f"cannot run {cmd[0]!r}: {exc.strerror or exc}; check the name and PATH"
            ) from None
        status.clear()
        code = exit_code(returncode)
        record = tracker.stop(exit_code=code, signal=-returncode if returncode < 0 else None)
        # Still inside: a signal that arrives now waits until the record is written.
        try:
            if json_path is not None:
                write_json(record, json_path)
            if csv_path is not None:
                from wattprint.records.exports import append_csv

                append_csv([record], csv_path)
        except (OSError, WattprintError) as exc:  # the command's exit code still comes first
            print(f"wattprint: error: could not write the record: {exc}", file=sys.stderr)
        print(summary(record, stored=tracker.stored), file=sys.stderr)
        runner.drain()  # the child is gone: nothing left to forward to
    return code


def summary(run: Run, stored: bool = True) -> str:
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
    if run.cost is not None:
        lines[0] += f", cost {run.cost:.4g}"
    for c in run.components:
        gap = f", gap {c.gap_s:.1f} s" if c.gap_s else ""
        lines.append(
            f"  {c.name:8} {c.device[:28]:28} {energy(c.energy_kwh):>10}  "
            f"{c.provenance:10} {c.method} ±{c.uncertainty_pct:g} %{gap}"
        )
    if stored:
        lines.append(f"  run {run.run_id[:12]} ({run.status}); `wattprint show {run.run_id[:12]}`")
    else:
        lines.append(f"  run {run.run_id[:12]} ({run.status}); not in a run store")
    return "\n".join(lines)
