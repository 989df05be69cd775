"""``wattprint intensity ZONE`` and ``wattprint zones [SEARCH]``: the bundled carbon data."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "intensity",
        help="the bundled carbon intensity of a zone, with its year, source and licence",
    )
    p.add_argument("zone", metavar="ZONE", help="e.g. DE, Germany, DEU, US-CA, SE-SE3, world")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("zones", help="list or search the known zones")
    p.add_argument("search", nargs="?", metavar="SEARCH", help="part of a code or a name")
    p.add_argument("--json", action="store_true", help="print JSON")


def intensity(args: argparse.Namespace) -> int:
    from wattprint.carbon import zones

    zone = zones.lookup_zone(args.zone)
    value = zones.intensity(zone)
    if args.json:
        print(json.dumps({**asdict(value), "kind": zone.kind, "parent": zone.parent}, indent=2))
        return 0
    year = value.year if value.year is not None else "undated"
    print(f"{zone.code} ({zone.name}): {value.intensity_g_per_kwh:g} gCO2e/kWh, {year}")
    print(f"  source: {value.source}")
    print(f"  licence: {value.licence}")
    if value.note:
        print(f"  note: {value.note}")
    return 0


def zones_(args: argparse.Namespace) -> int:
    from wattprint.carbon import zones

    found = zones.search(args.search) if args.search else zones.all_zones()
    if args.json:
        print(json.dumps([asdict(z) for z in found], indent=2))
        return 0
    if not found:
        print("no zones match")
        return 0
    for z in found:
        print(f"{z.code:16} {z.kind:11} {z.name}")
    return 0
