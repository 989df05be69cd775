"""``wattprint report RUN``: the run as one self-contained HTML page, or its figure as SVG."""

from __future__ import annotations

import argparse
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.carbon.compare import HourCO2
    from wattprint.records.run import Run


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "report", help="a run as one self-contained HTML page (offline) or its figure as SVG"
    )
    p.add_argument("run", metavar="RUN", help="run id, a unique prefix of it, or 'latest'")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument(
        "--html", metavar="PATH", help="write the page here (default: wattprint-report-ID.html)"
    )
    p.add_argument("--svg", metavar="PATH", help="write the power figure alone, as SVG")
    p.add_argument(
        "--png",
        metavar="PATH",
        help="write the power figure as PNG (needs the plot extra: pip install 'wattprint[plot]')",
    )
    p.add_argument(
        "--zones",
        metavar="LIST",
        help="the same run in these zones (default: the run's, NO, SE, FR, GB, DE, US, PL, IN; "
        "'' for none)",
    )
    p.add_argument(
        "--hours",
        action="store_true",
        help="the same run started at each hour of its day, from the configured live provider's "
        "history (network)",
    )
    p.add_argument(
        "--forecast",
        action="store_true",
        help="suggest a cleaner start from the configured live provider's forecast (network)",
    )


def report(args: argparse.Namespace) -> int:
    import sys

    from wattprint.cli.format import text
    from wattprint.cli.views import _one, open_store
    from wattprint.errors import ConfigError, UsageError
    from wattprint.records.paths import check_output_path, write_atomic

    with open_store(args.db) as store:
        run = _one(store, args.run)
        timeline = store.timeline(run.run_id)
    figure_only = args.svg is not None or args.png is not None
    html_path = args.html or (None if figure_only else f"wattprint-report-{run.run_id[:12]}.html")
    if args.png is not None:
        from wattprint.report.png import require_matplotlib

        require_matplotlib()
    try:  # every path judged before any is written
        for flag, path in (("--html", html_path), ("--svg", args.svg), ("--png", args.png)):
            if path is not None:
                check_output_path(path, flag)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    from wattprint.carbon.compare import DEFAULT_ZONES, in_zones

    if args.zones is None:
        names = [*([run.zone] if run.zone else []), *DEFAULT_ZONES]
    else:
        names = [z.strip() for z in args.zones.split(",") if z.strip()]
    try:
        other_zones = in_zones(run.energy_kwh, run.pue, names)
    except ConfigError as exc:
        if args.zones is not None:
            raise UsageError(f"--zones: {exc}") from None
        other_zones = in_zones(run.energy_kwh, run.pue, DEFAULT_ZONES)  # a stored zone gone
    if figure_only and (timeline is None or len(timeline.t_s) < 2):
        raise UsageError(f"run {run.run_id[:12]} has no timeline stored, so no figure")
    from wattprint.cli.suggest_cmd import best_start_for
    from wattprint.report.suggest import suggestions

    found = suggestions(run, best_start_for(run) if args.forecast else None)
    hours = _hours(run) if args.hours else None
    pages: list[tuple[str, str | bytes]] = []
    if args.svg is not None and timeline is not None:
        from wattprint.report.figure import run_figure

        pages.append((args.svg, run_figure(run, timeline)[0] + "\n"))
    if args.png is not None and timeline is not None:
        from wattprint.report.png import figure_png

        pages.append((args.png, figure_png(run, timeline)))
    if html_path is not None:
        from wattprint.report.html import render_html

        pages.append(
            (html_path, render_html(run, timeline, other_zones, suggestions=found, hours=hours))
        )
    for path, content in pages:
        try:
            write_atomic(path, content)
        except OSError as exc:  # a full disk: say what was not written, exit 1
            print(f"wattprint: error: could not write {text(path)}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {text(path)}", file=sys.stderr)
    return 0


def _hours(run: Run) -> list[HourCO2]:
    """The run at each hour of its day (``--hours``); a provider that fails is an error that
    names it, before anything is written."""
    from wattprint.carbon import zones
    from wattprint.carbon.compare import at_hours
    from wattprint.cli.suggest_cmd import live_provider_for
    from wattprint.errors import ProviderError, UsageError
    from wattprint.records.context import parse_iso_utc

    provider = live_provider_for("--hours", run)
    assert run.zone is not None
    static = zones.intensity(run.zone).intensity_g_per_kwh
    started = parse_iso_utc(run.started_at)
    try:
        return at_hours(
            provider, run.zone, started, run.duration_s, run.energy_kwh, static, run.pue
        )
    except ProviderError as exc:
        raise UsageError(f"--hours: {exc}; try again later or drop --hours") from None
