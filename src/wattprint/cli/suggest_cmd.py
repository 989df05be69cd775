"""``wattprint suggest RUN``: what would have lowered a run's footprint, with the savings."""

from __future__ import annotations

import argparse
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.carbon.forecast import BestStart
    from wattprint.carbon.providers.base import Provider
    from wattprint.records.run import Run
    from wattprint.report.suggest import Suggestion


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "suggest", help="what would have lowered a run's footprint, with savings and confidence"
    )
    p.add_argument("run", metavar="RUN", help="run id, a unique prefix of it, or 'latest'")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument("--json", action="store_true", help="print JSON (a list of suggestions)")
    p.add_argument(
        "--forecast",
        action="store_true",
        help="also ask the configured live intensity provider for a cleaner start in the next "
        "24 h (network; needs the intensity_provider setting)",
    )


def saving_text(s: Suggestion) -> str:
    from wattprint.cli.format import energy, mass

    parts = []
    if s.saving_kwh > 0:
        parts.append(energy(s.saving_kwh))
    if s.saving_kg is not None:
        parts.append(f"{mass(s.saving_kg)} CO2e")
    return ", ".join(parts)


def print_suggestions(found: list[Suggestion], details: bool) -> None:
    from wattprint.cli.format import text

    for s in found:
        print(f"  - [{s.kind}] {text(s.advice)}")
        print(f"    saves ~{saving_text(s)} ({s.confidence} confidence)")
        if details:
            for a in s.assumptions:
                print(f"    assumes: {text(a)}")
            if s.source:
                print(f"    source: {text(s.source)}")


def live_provider_for(flag: str, run: Run) -> Provider:
    """The configured live intensity provider, for ``flag`` (UsageError when none is
    configured or the run has no zone)."""
    from wattprint.carbon.plan import live_provider
    from wattprint.errors import UsageError
    from wattprint.settings import resolve

    provider = live_provider(resolve())
    if provider is None:
        raise UsageError(
            f"{flag} needs a live provider: set the intensity_provider setting "
            "(`wattprint settings` lists it)"
        )
    if run.zone is None:
        raise UsageError(f"run {run.run_id[:12]} has no zone, so no {flag}; drop {flag}")
    return provider


def best_start_for(run: Run) -> BestStart | None:
    """The configured live provider's least-CO2 start in the next 24 h for a run like ``run``
    (its energy over its duration)."""
    from datetime import datetime, timezone

    from wattprint.carbon import zones
    from wattprint.carbon.forecast import best_start

    provider = live_provider_for("--forecast", run)
    assert run.zone is not None
    static = zones.intensity(run.zone).intensity_g_per_kwh
    now = datetime.now(timezone.utc)
    return best_start(provider, run.zone, now, run.duration_s, run.energy_kwh, static, run.pue)


def suggest(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from wattprint.cli.views import _one, open_store
    from wattprint.report.suggest import suggestions

    with open_store(args.db) as store:
        run = _one(store, args.run)
    best = best_start_for(run) if args.forecast else None
    found = suggestions(run, best)
    if args.json:
        print(json.dumps([asdict(s) for s in found], indent=2))
        return 0
    if not found:
        print(f"run {run.run_id[:12]}: no suggestion; nothing in this run points to a saving")
        return 0
    print(f"run {run.run_id[:12]}: what would have lowered its footprint")
    print_suggestions(found, details=True)
    return 0
