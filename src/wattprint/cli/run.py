"""``wattprint run [options] -- CMD ARGS...``: run a command and measure its process tree.

Everything that could fail after the command has run (store, CSV, JSON paths; zone; numbers)
is checked before it starts: a bad option costs a one-line error (exit 2), never a lost run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattprint.cli.child import ChildRunner, exit_code
from wattprint.cli.format import duration, energy, mass, text
from wattprint.errors import UsageError, WattprintError
from wattprint.records.paths import check_output_path
from wattprint.records.run import Run
from wattprint.settings import BY_NAME, env_name, resolve

if TYPE_CHECKING:
    from wattprint.tracker import Tracker


SETTING_FLAGS = (
    "project",
    "experiment",
    "tags",
    "zone",
    "scope",
    "interval_s",
    "pue",
    "tariff",
    "db",
    "checkpoint_s",
)


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "run", help="run a command and measure it", usage="wattprint run [options] -- CMD [ARGS...]"
    )
    # Every option is a setting: its check, default and environment variable are the table's
    # (wattprint.settings), so a flag left out falls back to the environment and config file.
    for name in SETTING_FLAGS:
        s = BY_NAME[name]
        assert s.flag is not None
        default = "" if s.default in (None, ()) else f"; default {s.default}"
        env = f"; ${s.env}" if s.env else ""
        p.add_argument(
            s.flag,
            dest=name,
            action="append" if name == "tags" else "store",
            metavar="VALUE" if name != "tags" else "TAG",
            help=f"{s.doc}{env}{default}",
        )
    p.add_argument("--json", metavar="PATH", help="write the run record as JSON")
    p.add_argument("--csv", metavar="PATH", help="append the run as a row to a CSV file")
    p.add_argument(
        "--push",
        metavar="URL",
        help="push the run's totals to a Prometheus Pushgateway at URL when it ends "
        "(needs the monitor extra)",
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


def _check_explicit_store(db: str | None) -> None:
    """A team store on PostgreSQL must be reachable before the command starts (a file's
    checks need no connection: Tracker() makes them)."""
    from wattprint.records.paths import check_postgres_url, postgres_url

    url = postgres_url(db)
    if url is None:
        return
    check_postgres_url(url)  # its form first: a bad URL is not sent to a resolver
    from wattprint.records.store import RunStore

    RunStore(url).close()  # connects, and creates or migrates the schema; StoreError if not


def _push(url: str, record: Run) -> None:
    from wattprint.monitor.push import push_run
    from wattprint.records.context import hostname
    from wattprint.records.paths import redact_url, url_secrets

    try:
        push_run(url, record, hostname())
    except Exception as exc:  # noqa: BLE001 - the run is done and recorded: a push is extra
        reason = str(exc)
        for secret in url_secrets(url):  # a password in the URL stays out of the message
            reason = reason.replace(secret, "***")
        reason = " ".join(reason.split())[:200]
        print(
            f"wattprint: warning: could not push the run to {redact_url(url)}: {reason}; "
            "the run is recorded as usual",
            file=sys.stderr,
        )


class StatusLine:
    """A live one-line status on a terminal (stderr), redrawn about once a second."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.enabled = sys.stderr.isatty()
        self._shown = False

    def update(self) -> None:
        live = self.tracker.live() if self.enabled else None
        if live is None or live.elapsed_s <= 0:
            return
        line = (
            f"wattprint: {duration(live.elapsed_s)}, {energy(live.energy_kwh)}, "
            f"{live.mean_power_w:.3g} W average"
        )
        if live.co2_kg is not None:
            line += f", {mass(live.co2_kg)} CO2e"
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
        raise UsageError(f"command not found: {text(cmd[0])!r}; check the name and PATH")
    given = {name: getattr(args, name) for name in SETTING_FLAGS}
    settings = resolve(given, flags=True)  # every flag, variable and config value, checked now
    import os

    from wattprint.jobs.identity import identify

    job = identify(os.environ, settings.job_id, settings.node_id)
    if job is not None and job.world_size <= 1:
        job = None  # a job of one process: measured like any run
    if job is not None and job.node_scope and settings.source("scope") == "default":
        settings = resolve({**given, "scope": "machine"}, flags=True)  # the node
    if args.json is not None:
        check_output_path(args.json, "--json")  # '' too: an empty path is an error, not "none"
    if args.csv is not None:
        check_output_path(args.csv, "--csv")
        _check_csv_header(Path(args.csv))
    if args.push is not None:
        from wattprint.monitor.push import check_push_url

        check_push_url(args.push)
    _check_explicit_store(settings.db)
    if job is not None and not job.measures_by_env:
        # Launched once per rank (srun, torchrun): the node's first local rank measures the
        # node; this rank only runs its command (its options were checked all the same).
        with ChildRunner() as runner:
            return exit_code(runner.run(cmd))
    json_path = Path(args.json) if args.json is not None else None
    csv_path = Path(args.csv) if args.csv is not None else None
    from wattprint.records.paths import write_atomic
    from wattprint.tracker import Tracker

    # The settings as resolved (an explicit unwritable --db is an error here, before the
    # command; the default store only warns if it fails later).
    hardware = None
    if job is not None and job.job_gpus:
        from wattprint.sensors.discovery import HardwareOptions

        hardware = HardwareOptions(gpu_environ={**os.environ, "CUDA_VISIBLE_DEVICES": job.job_gpus})
    tracker = Tracker(command=cmd, settings=settings, hardware=hardware)
    if job is not None:
        from wattprint.records.run import JobInfo

        tracker.job = JobInfo(
            job.job_id, job.launcher, job.node_id, job.rank, job.world_size, job.expected_nodes
        )
    status = StatusLine(tracker)
    with ChildRunner() as runner:  # before start(): the sampler thread inherits the signal mask
        tracker.start(record_now=True)  # the run is in the store before the command starts
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
        lost = [] if tracker.stored or settings.store_off else ["the run store"]
        if json_path is not None:
            try:
                write_atomic(json_path, record.to_json() + "\n")
            except OSError as exc:
                lost.append(f"{json_path} ({exc.strerror or exc})")
        if csv_path is not None:
            from wattprint.records.exports import append_csv

            try:
                append_csv([record], csv_path)
            except (OSError, WattprintError) as exc:
                lost.append(f"{csv_path} ({exc})")
        print(summary(record, stored=tracker.stored), file=sys.stderr)
        if args.push is not None:
            _push(args.push, record)
        runner.drain()  # the child is gone: nothing left to forward to
    if lost:
        # Never a silent success: the command's own failure code comes first, else 1.
        print(
            f"wattprint: error: the run's record was not written to {', '.join(lost)}; "
            "free some space or choose another path (the command exited "
            f"{code})",
            file=sys.stderr,
        )
        return code or 1
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
        lines[0] += f", CO2 not computed: no zone (pass --zone or set {env_name('zone')})"
    if run.cost is not None:
        lines[0] += f", cost {run.cost:.4g}"
    for c in run.components:
        gap = f", gap {c.gap_s:.1f} s" if c.gap_s else ""
        lines.append(
            f"  {text(c.name):8} {text(c.device)[:28]:28} {energy(c.energy_kwh):>10}  "
            f"{text(c.provenance):10} {text(c.method)} ±{c.uncertainty_pct:g} %{gap}"
        )
    if run.overhead is not None:
        o = run.overhead
        where = "included above" if run.scope == "machine" else "not counted above"
        lines.append(
            f"  overhead (wattprint itself, {where}): {energy(o.energy_kwh)}, "
            f"{o.cpu_s * 1e3:.0f} ms CPU, {o.io_bytes / 1024:.0f} KiB I/O"
        )
    if stored:
        lines.append(f"  run {run.run_id[:12]} ({run.status}); `wattprint show {run.run_id[:12]}`")
    else:
        lines.append(f"  run {run.run_id[:12]} ({run.status}); not in a run store")
    return "\n".join(lines)
