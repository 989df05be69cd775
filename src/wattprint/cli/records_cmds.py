"""``wattprint verify``, ``export`` and ``import``: the store's records in and out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wattprint.cli.views import add_filters, open_store, select_runs
from wattprint.errors import UsageError

EXPORT_FORMATS = ("csv", "eco2ai", "jsonl", "json")
IMPORT_FORMATS = ("eco2ai", "codecarbon", "csv", "jsonl")


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("verify", help="check the store's HMAC chain (the signing_key setting)")
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")

    p = sub.add_parser("export", help="write runs as CSV, Eco2AI CSV, JSON Lines or JSON")
    add_filters(p)
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument(
        "--out",
        metavar="PATH",
        required=True,
        help="file to append to (csv, eco2ai, jsonl) or write (json)",
    )
    p.add_argument("--timeline", action="store_true", help="jsonl: add each run's energy timeline")

    p = sub.add_parser(
        "import",
        help="bring runs recorded by Eco2AI or CodeCarbon (or exported "
        "by wattprint) into the store",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=IMPORT_FORMATS, required=True)
    p.add_argument("--db", metavar="STORE", help="run store: a file or a postgresql:// URL")
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="the time zone the file's zone-less timestamps were written in (Eco2AI, "
        "CodeCarbon): an IANA name such as Europe/Berlin, or UTC (default: UTC, and said)",
    )


def verify(args: argparse.Namespace) -> int:
    from wattprint.records.signing import configured_key, verify
    from wattprint.settings import env_name

    key = configured_key()
    if key is None:
        raise UsageError(
            f"no signing key: set {env_name('signing_key')} to the key the runs were signed with"
        )
    with open_store(args.db) as store:
        report = verify(store, key)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for problem in report.problems:
        print(f"TAMPERED: {problem}")
    if report.ok:
        print(f"ok: {report.checked} signed runs, chain intact")
        return 0
    print(f"{len(report.problems)} problem(s) in {report.checked} signed runs", file=sys.stderr)
    return 1


def export(args: argparse.Namespace) -> int:
    from wattprint.records import exports

    runs = list(reversed(select_runs(args)))  # oldest first, as they happened
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: directory {out.parent} does not exist; create it first")
    if args.format == "csv":
        exports.append_csv(runs, out)
    elif args.format == "eco2ai":
        exports.append_eco2ai_csv(runs, out)
    elif args.format == "jsonl":
        timelines = None
        if args.timeline:
            with open_store(args.db) as store:
                timelines = {
                    r.run_id: tl for r in runs if (tl := store.timeline(r.run_id)) is not None
                }
        exports.append_jsonl(runs, out, timelines)
    else:
        import json

        from wattprint.records.paths import write_atomic

        try:  # atomic: an export over an existing file never leaves half of it
            write_atomic(out, json.dumps([r.to_dict() for r in runs], indent=2) + "\n")
        except OSError as exc:
            raise UsageError(f"--out {out}: {exc.strerror or exc}; choose another path") from None
    print(f"exported {len(runs)} run(s) to {out}", file=sys.stderr)
    return 0


def import_(args: argparse.Namespace) -> int:
    from wattprint.records import importers
    from wattprint.records.store import RunStore
    from wattprint.records.store_db import default_db_path

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path} is not a file; give the CSV or JSONL file to import")
    tz = _tz(args.tz) if args.tz is not None else None
    if tz is not None and args.format not in ("eco2ai", "codecarbon"):
        raise UsageError(f"--tz is for eco2ai and codecarbon files; {args.format} times have zones")
    if args.format == "eco2ai":
        runs = importers.read_eco2ai_csv(path, tz=tz)
    elif args.format == "codecarbon":
        runs = importers.read_codecarbon_csv(path, tz=tz)
    elif args.format == "csv":
        runs = importers.read_wattprint_csv(path)
    else:
        runs = importers.read_jsonl(path)
    if tz is None and any("has no zone: read as UTC" in w for r in runs for w in r.warnings):
        print(
            f"wattprint: warning: {path}'s times have no zone and were read as UTC; "
            "if they were local time, import again with --tz ZONE (e.g. --tz Europe/Berlin)",
            file=sys.stderr,
        )
    added = 0
    with RunStore(args.db or default_db_path()) as store:
        for run in runs:
            added += store.import_run(run)
    print(f"imported {added} new run(s) of {len(runs)} from {path}", file=sys.stderr)
    return 0


def _tz(name: str) -> Any:
    """``--tz``: an IANA zone (``zoneinfo``), or UTC."""
    from datetime import timezone

    if name.strip().upper() in ("UTC", "Z"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--tz {name!r} is not a time zone; give an IANA name such as Europe/Berlin, or UTC"
        ) from None
