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


def _live(zone_code: str) -> tuple[dict[str, Any] | None, str | None]:
    """The latest bin from the provider the intensity_provider setting names, if any:
    (bin as a dict, problem). No provider configured: (None, None) and no network."""
    from datetime import datetime, timedelta, timezone

    from wattprint.carbon import providers
    from wattprint.errors import ProviderError
    from wattprint.settings import setting

    name = setting("intensity_provider")  # only the settings this needs: others are not its
    if not isinstance(name, str):
        return None, None
    token = setting("electricitymaps_token") if name == "electricitymaps" else None
    assert token is None or isinstance(token, str)
    provider = providers.get_provider(name, token=token)
    now = datetime.now(timezone.utc)
    try:
        bins = provider.history(zone_code, now - timedelta(hours=3), now)
    except ProviderError as exc:
        return None, str(exc)
    if not bins:
        return None, f"{provider.name} has no recent data for {zone_code}"
    last = bins[-1]
    return {
        "start": last.start.isoformat(),
        "end": last.end.isoformat(),
        "intensity_g_per_kwh": last.intensity_g_per_kwh,
        "source": last.source,
        "kind": last.kind,
    }, None


def intensity(args: argparse.Namespace) -> int:
    from wattprint.carbon import zones

    zone = zones.lookup_zone(args.zone)
    value = zones.intensity(zone)
    live, problem = _live(zone.code)
    if args.json:
        doc = {**asdict(value), "basis": value.basis, "kind": zone.kind, "parent": zone.parent}
        if live is not None or problem is not None:
            doc["live"] = live if live is not None else {"error": problem}
        print(json.dumps(doc, indent=2))
        return 0
    year = value.year if value.year is not None else "undated"
    print(f"{zone.code} ({zone.name}): {value.intensity_g_per_kwh:g} gCO2e/kWh, {year}")
    print(f"  source: {value.source}")
    print(f"  basis: {value.basis}")
    print(f"  licence: {value.licence}")
    if value.note:
        print(f"  note: {value.note}")
    if live is not None:
        print(
            f"  live: {live['intensity_g_per_kwh']:g} gCO2e/kWh for {live['start']} to "
            f"{live['end']} ({live['source']}, {live['kind']})"
        )
    elif problem is not None:
        print(f"  live: unavailable ({problem})")
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


def add_compare_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("compare", help="what the same energy emits in other zones")
    p.add_argument("what", metavar="RUN_OR_KWH", help="a run id (or prefix) or an energy in kWh")
    p.add_argument(
        "--zones",
        required=True,
        metavar="Z1,Z2,...",
        help="zones to compare, e.g. DE,FR,PL,US-CA,gcp:europe-north1",
    )
    p.add_argument("--pue", type=float, help="PUE to apply (default: the run's, or 1.0)")
    p.add_argument(
        "--db", metavar="STORE", help="run store: a file or a postgresql:// URL (for a run id)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def compare(args: argparse.Namespace) -> int:
    import math

    from wattprint.cli.format import energy, mass
    from wattprint.errors import UsageError

    try:
        energy_kwh, pue, label = float(args.what), 1.0, f"{args.what} kWh"
    except ValueError:
        from wattprint.cli.views import open_store

        with open_store(args.db) as store:
            run = store.get(args.what)
        energy_kwh, pue, label = run.energy_kwh, run.pue, f"run {run.run_id[:12]}"
    if not (math.isfinite(energy_kwh) and energy_kwh >= 0):
        raise UsageError(f"{args.what!r} is not an energy; give kWh >= 0 or a run id")
    if args.pue is not None:
        if not (math.isfinite(args.pue) and args.pue >= 1):
            raise UsageError(f"--pue {args.pue:g} is not a number >= 1")
        pue = args.pue
    names = [z.strip() for z in args.zones.split(",") if z.strip()]
    if not names:
        raise UsageError("--zones is empty; give zones such as --zones DE,FR,PL")
    from dataclasses import asdict

    from wattprint.carbon.compare import in_zones

    rows: list[dict[str, Any]] = [asdict(r) for r in in_zones(energy_kwh, pue, names)]
    if args.json:
        print(json.dumps({"energy_kwh": energy_kwh, "pue": pue, "zones": rows}, indent=2))
        return 0
    print(f"{label}: {energy(energy_kwh)} at PUE {pue:g}")
    lowest = float(rows[0]["co2_kg"])
    for r in rows:
        times = f"{float(r['co2_kg']) / lowest:5.1f}x" if lowest > 0 else "     -"
        year = r["year"] if r["year"] is not None else "undated"
        print(
            f"  {r['zone']:18} {mass(float(r['co2_kg'])):>10} CO2e  {times}  "
            f"({r['intensity_g_per_kwh']:g} g/kWh, {year})"
        )
    return 0
