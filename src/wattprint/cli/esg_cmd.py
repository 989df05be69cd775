"""``wattprint esg --from DATE --to DATE``: Scope 2 electricity for a period, location- and
market-based, by project and month (text, CSV or HTML)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "esg",
        help="Scope 2 electricity for a period: location- and market-based CO2e by project "
        "and month",
    )
    p.add_argument("--from", dest="start", metavar="DATE", required=True, help="first day")
    p.add_argument("--to", dest="end", metavar="DATE", required=True, help="last day (included)")
    p.add_argument("--project", help="only this project")
    p.add_argument("--format", choices=("text", "csv", "html"), default="text")
    p.add_argument(
        "--factors",
        metavar="CSV",
        help="contractual factors for market-based figures: zone,from,to,g_per_kwh,instrument"
        "[,share_pct][,note] (docs/esg.md)",
    )
    p.add_argument("--out", metavar="PATH", help="write here instead of printing")
    p.add_argument(
        "--db", metavar="STORE", help="run store: a file or a postgresql:// URL (opened read-only)"
    )


def _day(text: str, flag: str) -> Any:
    from datetime import date

    from wattprint.errors import UsageError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date; write YYYY-MM-DD") from None


def esg(args: argparse.Namespace) -> int:
    import sys

    from wattprint.carbon.contracts import read_factors
    from wattprint.cli.format import text
    from wattprint.errors import ConfigError, UsageError
    from wattprint.records.paths import check_output_path, write_atomic
    from wattprint.records.reader import RunFilter, StoreReader
    from wattprint.records.store_db import default_db_path
    from wattprint.report.esg import esg_report
    from wattprint.report.esg_render import esg_csv, esg_html, esg_text

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}; swap them")
    try:
        factors = read_factors(args.factors) if args.factors else []
        if args.out:
            check_output_path(args.out, "--out")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    with StoreReader(args.db or default_db_path()) as reader:
        runs = reader.esg_inputs(RunFilter(project=args.project, since=start, until=end))
    report = esg_report(runs, start, end, args.project, factors)
    render = {"text": esg_text, "csv": esg_csv, "html": esg_html}[args.format]
    content = render(report)
    if not args.out:
        sys.stdout.write(content)
        return 0
    try:
        write_atomic(args.out, content)
    except OSError as exc:
        print(f"wattprint: error: could not write {text(args.out)}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {text(args.out)}", file=sys.stderr)
    return 0
