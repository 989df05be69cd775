"""Terminal views of the run store: ``runs``, ``show``, ``summary``."""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wattprint.cli.format import duration, energy, mass, text
from wattprint.errors import UsageError
from wattprint.records.run import Run
from wattprint.settings import env_name

if TYPE_CHECKING:
    from wattprint.records.store import RunStore


def add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", help="only this project")
    p.add_argument("--tag", help="only runs with this tag")
    p.add_argument("--since", metavar="DATE", help="started on or after (YYYY-MM-DD or ISO time)")
    p.add_argument("--until", metavar="DATE", help="started before (a bare date includes it)")
    p.add_argument("--status", choices=("running", "finished", "failed", "interrupted"))
    p.add_argument(
        "--db",
        metavar="STORE",
        help=f"run store: a file or a postgresql:// URL (default: ${env_name('db')}, the "
        "config file, or the user data directory)",
    )


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("runs", help="list recorded runs, newest first")
    add_filters(p)
    p.add_argument("--limit", type=int, default=20, help="at most N runs (default 20; 0: all)")
    p.add_argument("--json", action="store_true", help="JSON Lines, one record per run")

    p = sub.add_parser("show", help="one run: components with provenance and uncertainty")
    p.add_argument("run", metavar="RUN", help="run id, a unique prefix of it, or 'latest'")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.add_argument(
        "--timeline", action="store_true", help="with --json: add the run's energy timeline"
    )

    p = sub.add_parser(
        "timeline", help="a run's energy over time per component, as CSV (t, J, W per device)"
    )
    p.add_argument("run", metavar="RUN", help="run id, a unique prefix of it, or 'latest'")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument("--csv", action="store_true", help="CSV (the default and only format)")

    p = sub.add_parser(
        "compare-runs", help="runs side by side: energy, CO2, epochs, per epoch, per item"
    )
    p.add_argument("runs", metavar="RUN", nargs="+", help="run ids or unique prefixes")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("summary", help="totals per project and period: energy, CO2, cost")
    add_filters(p)
    p.add_argument(
        "--by",
        choices=("project", "day", "week", "month"),
        default="project",
        help="group by project (default) or by period within each project",
    )
    p.add_argument(
        "--price",
        type=float,
        metavar="PER_KWH",
        help="electricity price per kWh, for a cost column (any currency; applied to energy x PUE)",
    )


def open_store(path: str | None) -> RunStore:
    from pathlib import Path

    from wattprint.records.paths import postgres_url
    from wattprint.records.store import RunStore
    from wattprint.records.store_db import default_db_path

    target = path or default_db_path()
    if not postgres_url(target) and not Path(target).exists():
        raise UsageError(
            f"no run store at {target}; record a run first "
            "(`wattprint run -- CMD`) or pass --db PATH"
        )
    return RunStore(target)


def select_runs(args: argparse.Namespace, limit: int | None = None) -> list[Run]:
    """The runs the filter options (add_filters) select, newest first."""
    with open_store(args.db) as store:
        return store.list(
            project=args.project,
            tag=args.tag,
            since=args.since,
            until=args.until,
            status=args.status,
            limit=limit,
        )


def runs(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError(f"--limit {args.limit} is negative; give a count, or 0 for all runs")
    selected = select_runs(args, limit=args.limit or None)
    if args.json:
        for r in selected:
            print(json.dumps(r.to_dict(), separators=(",", ":")))
        return 0
    if not selected:
        print("no runs match")
        return 0
    print(
        f"{'run':12}  {'started (UTC)':19}  {'project':16} {'duration':>12} {'energy':>10} "
        f"{'CO2e':>9}  status"
    )
    for r in selected:
        co2 = mass(r.co2_kg) if r.co2_kg is not None else "-"
        exit_info = f" ({r.exit_code})" if r.exit_code else ""
        print(
            f"{r.run_id[:12]:12}  {r.started_at[:19].replace('T', ' '):19}  "
            f"{text(r.project)[:16]:16} {duration(r.duration_s):>12} {energy(r.energy_kwh):>10} "
            f"{co2:>9}  {text(r.status)}{exit_info}"
        )
    return 0


def _one(store: RunStore, run: str) -> Run:
    if run != "latest":
        return store.get(run)
    newest = store.list(limit=1)
    if not newest:
        raise UsageError("the store has no runs yet; record one first")
    return newest[0]


def _timeline_dict(store: RunStore, run_id: str) -> dict[str, object] | None:
    tl = store.timeline(run_id)
    if tl is None:
        return None
    return {"t_s": list(tl.t_s), "energy_j": {k: list(v) for k, v in tl.energy_j.items()}}


def show(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        r = _one(store, args.run)
        timeline = _timeline_dict(store, r.run_id) if args.json and args.timeline else None
    if args.json:
        doc = r.to_dict()
        if args.timeline:
            doc["timeline"] = timeline
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"run {text(r.run_id)}  project {text(r.project)}"
        f"{f'  experiment {text(r.experiment)}' if r.experiment else ''}"
        f"{'  tags ' + text(','.join(r.tags)) if r.tags else ''}"
    )
    print(
        f"  {text(r.status)}, started {text(r.started_at)}, {duration(r.duration_s)}, "
        f"scope {text(r.scope)}, host {text(r.host)}"
    )
    if r.command:
        print(
            f"  command: {text(' '.join(r.command))}  -> exit {r.exit_code}"
            f"{f', signal {r.signal}' if r.signal else ''}"
        )
    if r.error:
        print(f"  error: {text(r.error)}")
    co2 = (
        f"{mass(r.co2_kg)} CO2e at {r.intensity_g_per_kwh:g} g/kWh ({text(r.zone)}; "
        f"{text(r.intensity_source)}), PUE {r.pue:g}"
        if r.co2_kg is not None
        else "no zone: no CO2"
    )
    print(f"  energy {energy(r.energy_kwh)} ±{r.uncertainty_pct:.0f} %; {co2}")
    print(
        f"\n  {'component':10} {'device':30} {'energy':>10} {'share':>6}  provenance  "
        "method (±uncertainty)"
    )
    for c in r.components:
        share = f"{100 * c.energy_kwh / r.energy_kwh:.0f} %" if r.energy_kwh > 0 else "-"
        gap = f", gap {c.gap_s:.1f} s" if c.gap_s else ""
        print(
            f"  {text(c.name):10} {text(c.device)[:30]:30} {energy(c.energy_kwh):>10} {share:>6}  "
            f"{text(c.provenance):11} {text(c.method)} (±{c.uncertainty_pct:g} %){gap}"
        )
    _show_windows(r)
    _show_efficiency(r)
    for warning in r.warnings:
        print(f"  warning: {text(warning)}")
    _show_suggestions(r)
    return 0


def _show_suggestions(r: Run) -> None:
    from wattprint.cli.suggest_cmd import print_suggestions
    from wattprint.report.suggest import suggestions

    found = suggestions(r)
    if found:
        print("\n  suggestions (`wattprint suggest RUN` for assumptions and sources):")
        print_suggestions(found, details=False)


def _show_windows(r: Run) -> None:
    if not r.windows:
        return
    print(f"\n  {'window':24} {'duration':>12} {'energy':>10} {'mean W':>8} {'CO2e':>9}  metrics")
    for w in r.windows:
        watts = w.energy_kwh * 3.6e6 / w.duration_s if w.duration_s > 0 else 0.0
        co2 = mass(w.co2_kg) if w.co2_kg is not None else "-"
        name = text(w.name) + (f" x{w.count}" if w.count > 1 else "")
        metrics = " ".join(f"{text(k)}={v:.4g}" for k, v in w.metrics.items())
        print(
            f"  {name[:24]:24} {duration(w.duration_s):>12} {energy(w.energy_kwh):>10} "
            f"{watts:8.3g} {co2:>9}  {metrics}"
        )


def _show_efficiency(r: Run) -> None:
    from wattprint.records.efficiency import efficiency

    e = efficiency(r)
    lines = []
    if e.outside_windows_kwh is not None and r.windows:
        lines.append(f"outside windows: {energy(e.outside_windows_kwh)}")
    if e.kwh_per_epoch is not None:
        lines.append(f"{energy(e.kwh_per_epoch)} per epoch ({e.epochs} epochs)")
    if e.kwh_per_accuracy_point is not None:
        lines.append(
            f"{energy(e.kwh_per_accuracy_point)} per point of {e.accuracy_metric} gained "
            f"(+{e.accuracy_points_gained:.3g} points)"
        )
    if e.kwh_per_1k_items is not None:
        co2 = f", {mass(e.co2_kg_per_1k_items)} CO2e" if e.co2_kg_per_1k_items is not None else ""
        lines.append(f"{energy(e.kwh_per_1k_items)}{co2} per 1,000 items ({r.items} items)")
    p = r.prediction
    if p is not None:
        line = (
            f"predicted after {p.after_epochs} of {p.epochs_planned} epochs: "
            f"{energy(p.energy_kwh)} ({energy(p.energy_low_kwh)}-{energy(p.energy_high_kwh)})"
        )
        if p.best_start_at is not None and p.best_start_co2_kg is not None:
            saved = (p.co2_if_started_now_kg or 0.0) - p.best_start_co2_kg
            line += f"; least CO2 starting {text(p.best_start_at)[:16]}Z, saving {mass(saved)}"
        if p.outcome_energy_kwh is not None:
            verdict = {True: "inside", False: "outside", None: "epochs differ"}
            line += (
                f"; outcome {energy(p.outcome_energy_kwh)} after {p.outcome_epochs} epochs "
                f"({verdict[p.within_interval]})"
            )
        lines.append(line)
    if lines:
        print()
        for line in lines:
            print(f"  {line}")


def timeline(args: argparse.Namespace) -> int:
    """CSV: seconds since the start, then per device its cumulative joules and the mean watts
    since the previous row (the store keeps at most 4,096 points per run)."""
    import csv
    import sys

    from wattprint.records.exports import safe_cell

    with open_store(args.db) as store:
        r = _one(store, args.run)
        tl = store.timeline(r.run_id)
    if tl is None:
        raise UsageError(f"run {r.run_id[:12]} has no timeline stored (it is still running?)")
    keys = sorted(tl.energy_j)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["t_s", *(safe_cell(f"{k}_j") for k in keys), *(safe_cell(f"{k}_w") for k in keys)]
    )
    for i, t in enumerate(tl.t_s):
        dt = t - tl.t_s[i - 1] if i else 0.0
        joules = [tl.energy_j[k][i] for k in keys]
        watts = [
            (tl.energy_j[k][i] - tl.energy_j[k][i - 1]) / dt if i and dt > 0 else 0.0 for k in keys
        ]
        writer.writerow([repr(t), *map(repr, joules), *(f"{w:.6g}" for w in watts)])
    return 0


def compare_runs(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from wattprint.records.efficiency import efficiency, final_accuracy

    with open_store(args.db) as store:
        runs = [store.get(r) for r in args.runs]
    rows = []
    for r in runs:
        e = efficiency(r)
        final = final_accuracy(r, e)
        rows.append((r, e, final))
    if args.json:
        doc = [
            {
                "run_id": r.run_id,
                "project": r.project,
                "duration_s": r.duration_s,
                "energy_kwh": r.energy_kwh,
                "co2_kg": r.co2_kg,
                "final_accuracy": final,
                **asdict(e),
            }
            for r, e, final in rows
        ]
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"{'run':12}  {'project':14} {'duration':>12} {'energy':>10} {'CO2e':>9} {'epochs':>6} "
        f"{'/epoch':>10} {'accuracy':>9} {'/acc point':>10} {'/1k items':>10}"
    )
    for r, e, final in rows:

        def opt(kwh: float | None) -> str:
            return energy(kwh) if kwh is not None else "-"

        print(
            f"{r.run_id[:12]:12}  {text(r.project)[:14]:14} {duration(r.duration_s):>12} "
            f"{energy(r.energy_kwh):>10} {mass(r.co2_kg) if r.co2_kg is not None else '-':>9} "
            f"{e.epochs or '-':>6} {opt(e.kwh_per_epoch):>10} "
            f"{f'{final:.4g}' if final is not None else '-':>9} "
            f"{opt(e.kwh_per_accuracy_point):>10} {opt(e.kwh_per_1k_items):>10}"
        )
    return 0


@dataclass
class _Total:
    runs: int = 0
    duration_s: float = 0.0
    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    facility_kwh: float = 0.0  # energy x PUE: what the electricity bill counts
    no_zone: int = 0


def _period(started_at: str, by: str) -> str:
    if by == "day":
        return started_at[:10]
    if by == "month":
        return started_at[:7]
    if by == "week":
        from datetime import date

        y, w, _ = date.fromisoformat(started_at[:10]).isocalendar()
        return f"{y}-W{w:02d}"
    return "all"


def summary(args: argparse.Namespace) -> int:
    if args.price is not None and not (math.isfinite(args.price) and args.price >= 0):
        raise UsageError(
            f"--price {args.price:g} is not a price; give a number >= 0 per kWh, e.g. --price 0.30"
        )
    totals: dict[tuple[str, str], _Total] = defaultdict(_Total)
    for r in select_runs(args):
        t = totals[(r.project, _period(r.started_at, args.by))]
        t.runs += 1
        t.duration_s += r.duration_s
        t.energy_kwh += r.energy_kwh
        t.facility_kwh += r.energy_kwh * r.pue
        if r.co2_kg is None:
            t.no_zone += 1
        else:
            t.co2_kg += r.co2_kg
    if not totals:
        print("no runs match")
        return 0
    cost_head = f" {'cost':>10}" if args.price is not None else ""
    print(
        f"{'project':20} {'period':10} {'runs':>5} {'time':>14} {'energy':>11} "
        f"{'CO2e':>10}{cost_head}"
    )
    for (project, period), t in sorted(totals.items()):
        cost = f" {t.facility_kwh * args.price:10.4g}" if args.price is not None else ""
        co2 = mass(t.co2_kg) + ("*" if t.no_zone else "")
        print(
            f"{text(project)[:20]:20} {text(period):10} {t.runs:5d} {duration(t.duration_s):>14} "
            f"{energy(t.energy_kwh):>11} {co2:>10}{cost}"
        )
    if any(t.no_zone for t in totals.values()):
        print("* some runs had no zone, so their CO2 is not included")
    return 0
