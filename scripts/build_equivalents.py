#!/usr/bin/env python3
"""Rebuild src/wattprint/data/equivalents.csv: everyday equivalents of a mass of CO2.

The origins give CO2 or CO2e per unit; the table calls the column g CO2.

Input, under ../shared/data-sources/ (SOURCES.csv there gives origin, commit and licence):
green-algorithms-v3.0/referenceValues.csv (CC BY 4.0; Lannelongue, Grealey, Inouye, "Green
Algorithms: Quantifying the Carbon Footprint of Computation", Advanced Science 2021), whose
``source`` column names each figure's own origin and edition (UK government GHG conversion
factors 2019/2020, US EPA, a 2001 study of tree uptake).

Only the figures with a per-unit rate and a citable origin are kept; the per-flight totals
(from a commercial calculator) and the Google-search figure (a 2009 blog estimate) are left out.

Columns: ``key``, ``label`` (what one unit is), ``unit``, ``g_co2_per_unit``, ``origin`` (the
figure's own source, with its edition), ``via`` (the carrier and its licence).
Standard library only; byte-for-byte stable for the same input.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO.parent / "shared" / "data-sources"
INPUT = "green-algorithms-v3.0/referenceValues.csv"
OUTPUT = REPO / "src" / "wattprint" / "data" / "equivalents.csv"
VIA = "Green Algorithms v3.0 referenceValues.csv (2025-02-05), CC BY 4.0"

# key in referenceValues.csv -> (label, unit, the origin as the row's source column cites it)
KEEP = {
    "passengerCar_EU_perkm": (
        "driving an average passenger car in Europe",
        "km",
        "UK government GHG conversion factors 2019 (with Atmospheric Environment 2018)",
    ),
    "passengerCar_US_perkm": (
        "driving an average passenger car in the US",
        "km",
        "US EPA, Greenhouse Gas Emissions from a Typical Passenger Vehicle (404 g/mile edition)",
    ),
    "train_perkm": ("travelling by train", "km", "UK government GHG conversion factors 2020"),
    "flight_economy_perkm": (
        "flying economy class, per passenger",
        "km",
        "UK government GHG conversion factors 2020",
    ),
    "treeYear": (
        "what a tree absorbs in a year",
        "tree-years",
        "Environmental Pollution 116 (2002), doi:10.1016/S0269-7491(01)00264-0",
    ),
    "streaming_netflix_perhour": (
        "streaming video",
        "hours",
        "Carbon Brief factcheck of the carbon footprint of streaming video (2020 update)",
    ),
}
FIELDS = ["key", "label", "unit", "g_co2_per_unit", "origin", "via"]


def build(sources: Path) -> list[dict[str, str]]:
    rows = []
    with open(sources / INPUT, newline="", encoding="utf-8") as f:
        for r in csv.reader(f):
            if len(r) < 3 or r[0] not in KEEP:
                continue
            label, unit, origin = KEEP[r[0]]
            value = float(r[1])
            if not value > 0:
                sys.exit(f"{INPUT}: {r[0]} = {r[1]!r} is not a positive rate")
            rows.append(
                {
                    "key": r[0],
                    "label": label,
                    "unit": unit,
                    "g_co2_per_unit": f"{value:g}",
                    "origin": origin,
                    "via": VIA,
                }
            )
    missing = set(KEEP) - {r["key"] for r in rows}
    if missing:
        sys.exit(f"{INPUT}: missing {', '.join(sorted(missing))}")
    return sorted(rows, key=lambda r: r["key"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    ap.add_argument("--out", type=Path, default=OUTPUT)
    args = ap.parse_args()
    rows = build(args.sources)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out}: {len(rows)} equivalents")


if __name__ == "__main__":
    main()
