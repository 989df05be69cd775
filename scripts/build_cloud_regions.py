#!/usr/bin/env python3
"""Rebuild src/wattprint/data/cloud_regions.csv: cloud regions -> grid zone (+ Google's figure).

Inputs, under ../shared/data-sources/ (see SOURCES.csv there for origin, commit and licence):

- codecarbon-3.3.2/cloud_impact.csv (MIT): GCP region -> country (alpha-3), state, city. Its
  ``impact`` column is not used (Google's own file is newer and is the primary source).
- green-algorithms-v3.0/cloudProviders_datacenters.csv (CC BY 4.0): GCP and Azure region ->
  location code (``US-OR``, ``FR``) and, for a few regions, PUE. Only that mapping and the PUE are
  used, never its carbon-intensity values (mostly carbonfootprint.com, which DESIGN.md rules out).
- google-region-carbon-info/2024.csv (Apache-2.0): GCP region -> Google's grid carbon intensity
  (gCO2eq/kWh) and CFE share.
- AWS is in none of the inputs: its regions and their locations (public facts from AWS's
  "Regions and Availability Zones" documentation, no licensed data) are listed in AWS_REGIONS
  below.

Columns of the output:

- ``code``: ``provider:region``, lower case (``aws:eu-west-1``, ``gcp:europe-west4``,
  ``azure:westeurope``); ``provider``; ``region`` (the provider's programmatic name).
- ``location``: human-readable place.
- ``grid_zone``: the wattprint zone the region draws from: ``US-XX`` for a US region whose state
  is known, else the country's ISO 3166-1 alpha-2 code (see SUBNATIONAL_COUNTRIES). Every value
  is checked against wattprint's zone registry.
- ``provider_intensity_g_per_kwh`` / ``provider_cfe_pct``: Google's figures (GCP only).
- ``year``: year of the intensity the row gives at build time: Google's year for a GCP region,
  else the year of the grid zone's bundled row (``unknown`` when that row is undated).
- ``source`` / ``licence``: where the row's facts come from; ``pue``: the region's PUE if known.

Standard library only (plus wattprint's own registry, read from src/). Output is sorted by code
and byte-for-byte stable for the same inputs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "src" / "wattprint" / "data"
OUT_FILE = DATA / "cloud_regions.csv"
DEFAULT_SOURCES = REPO.parent / "shared" / "data-sources"

CODECARBON_FILE = "codecarbon-3.3.2/cloud_impact.csv"
GA_FILE = "green-algorithms-v3.0/cloudProviders_datacenters.csv"
GOOGLE_YEAR = 2024
GOOGLE_FILE = f"google-region-carbon-info/{GOOGLE_YEAR}.csv"

FIELDS = [
    "code",
    "provider",
    "region",
    "location",
    "grid_zone",
    "provider_intensity_g_per_kwh",
    "provider_cfe_pct",
    "year",
    "source",
    "licence",
    "pue",
]
PROVIDERS = ("aws", "gcp", "azure")
LABEL = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}

# Countries whose regions get a sub-national grid zone when the state is known. Others use the
# country (the sub-national rows of e.g. CA-QC or AU-NSW are undated eco2ai or ODbL figures).
SUBNATIONAL_COUNTRIES = frozenset({"US"})

SRC_GOOGLE = f"Google region-carbon-info {GOOGLE_YEAR} ({GOOGLE_FILE})"
LIC_GOOGLE = "Apache-2.0 (Google)"
SRC_CODECARBON = f"location: CodeCarbon 3.3.2 ({CODECARBON_FILE})"
LIC_CODECARBON = "MIT (CodeCarbon)"
SRC_GA = f"location/PUE: Green Algorithms v3.0 ({GA_FILE})"
LIC_GA = "CC BY 4.0 (Green Algorithms, Lannelongue et al.)"
SRC_AWS = "location: AWS Regions and Availability Zones documentation (curated in this script)"
LIC_AWS = "facts (no licensed data)"
SRC_MANUAL = "location: curated in scripts/build_cloud_regions.py"

# AWS region -> (location, grid zone). Public regions only (no GovCloud: AWS does not publish
# their state). Opt-in regions are included.
# US regions -> the balancing authority (Electricity Maps zone) whose grid serves the metro,
# instead of the state: a state's generation rate leaves out what a net importer such as
# Virginia buys from the rest of PJM. Curated from public facts (which utility and grid
# operator serve each metro: PJM for Northern Virginia, Ohio and northern Illinois; MISO for
# Iowa; ERCOT for Dallas and San Antonio; CAISO for Northern California; LADWP for Los
# Angeles; BPA for the Columbia River sites in Oregon; Grant County PUD for Quincy, WA;
# PacifiCorp East for Salt Lake City; NV Energy for Las Vegas; SPP for Oklahoma; Santee Cooper
# for Moncks Corner, SC; Southern Company for Georgia; WACM for Cheyenne, WY; APS for the
# Phoenix area). Each must be a zone of the right country in the bundled tables.
BALANCING_AUTHORITY: dict[str, str] = {
    "aws:us-east-1": "US-MIDA-PJM",
    "aws:us-east-2": "US-MIDA-PJM",
    "aws:us-west-1": "US-CAL-CISO",
    "aws:us-west-2": "US-NW-BPAT",
    "azure:centralus": "US-MIDW-MISO",
    "azure:eastus": "US-MIDA-PJM",
    "azure:eastus2": "US-MIDA-PJM",
    "azure:northcentralus": "US-MIDA-PJM",
    "azure:southcentralus": "US-TEX-ERCO",
    "azure:westcentralus": "US-NW-WACM",
    "azure:westus": "US-CAL-CISO",
    "azure:westus2": "US-NW-GCPD",
    "azure:westus3": "US-SW-AZPS",
    "gcp:us-central1": "US-MIDW-MISO",
    "gcp:us-central2": "US-CENT-SWPP",
    "gcp:us-east1": "US-CAR-SC",
    "gcp:us-east2": "US-SE-SOCO",
    "gcp:us-east4": "US-MIDA-PJM",
    "gcp:us-east5": "US-MIDA-PJM",
    "gcp:us-south1": "US-TEX-ERCO",
    "gcp:us-west1": "US-NW-BPAT",
    "gcp:us-west2": "US-CAL-LDWP",
    "gcp:us-west3": "US-NW-PACE",
    "gcp:us-west4": "US-NW-NEVP",
    # Outside the US: the bidding zone or regional grid of the metro, where the bundled tables
    # split the country (Sweden, Norway, Italy, Japan, Australia's NEM regions, Canada's
    # provinces, India's regional grids, Brazil's subsystems, Peninsular Malaysia).
    "aws:ap-northeast-1": "JP-TK",
    "aws:ap-northeast-3": "JP-KN",
    "aws:ap-south-1": "IN-WE",
    "aws:ap-south-2": "IN-SO",
    "aws:ap-southeast-2": "AU-NSW",
    "aws:ap-southeast-4": "AU-VIC",
    "aws:ap-southeast-5": "MY-WM",
    "aws:ca-central-1": "CA-QC",
    "aws:ca-west-1": "CA-AB",
    "aws:eu-north-1": "SE-SE3",
    "aws:eu-south-1": "IT-NO",
    "aws:sa-east-1": "BR-CS",
    "azure:australiacentral": "AU-NSW",  # the ACT is in the NEM's NSW region
    "azure:australiacentral2": "AU-NSW",
    "azure:australiaeast": "AU-NSW",
    "azure:australiasoutheast": "AU-VIC",
    "azure:brazilsouth": "BR-CS",
    "azure:canadacentral": "CA-ON",
    "azure:canadaeast": "CA-QC",
    "azure:centralindia": "IN-WE",
    "azure:italynorth": "IT-NO",
    "azure:japaneast": "JP-TK",
    "azure:japanwest": "JP-KN",
    "azure:norwayeast": "NO-NO1",
    "azure:norwaywest": "NO-NO2",
    "azure:southindia": "IN-SO",
    "azure:westindia": "IN-WE",
    "gcp:asia-northeast1": "JP-TK",
    "gcp:asia-northeast2": "JP-KN",
    "gcp:asia-south1": "IN-WE",
    "gcp:asia-south2": "IN-NO",
    "gcp:australia-southeast1": "AU-NSW",
    "gcp:australia-southeast2": "AU-VIC",
    "gcp:europe-north2": "SE-SE3",
    "gcp:europe-west12": "IT-NO",
    "gcp:europe-west8": "IT-NO",
    "gcp:northamerica-northeast1": "CA-QC",
    "gcp:northamerica-northeast2": "CA-ON",
    "gcp:southamerica-east1": "BR-CS",
}
SRC_BA = "grid: the balancing authority or bidding zone serving the metro (curated here)"
LIC_BA = "facts (no licensed data)"

AWS_REGIONS: dict[str, tuple[str, str]] = {
    "af-south-1": ("Cape Town, South Africa", "ZA"),
    "ap-east-1": ("Hong Kong", "HK"),
    "ap-east-2": ("Taipei, Taiwan", "TW"),
    "ap-northeast-1": ("Tokyo, Japan", "JP"),
    "ap-northeast-2": ("Seoul, South Korea", "KR"),
    "ap-northeast-3": ("Osaka, Japan", "JP"),
    "ap-south-1": ("Mumbai, India", "IN"),
    "ap-south-2": ("Hyderabad, India", "IN"),
    "ap-southeast-1": ("Singapore", "SG"),
    "ap-southeast-2": ("Sydney, Australia", "AU"),
    "ap-southeast-3": ("Jakarta, Indonesia", "ID"),
    "ap-southeast-4": ("Melbourne, Australia", "AU"),
    "ap-southeast-5": ("Malaysia", "MY"),
    "ap-southeast-6": ("Auckland, New Zealand", "NZ"),
    "ap-southeast-7": ("Thailand", "TH"),
    "ca-central-1": ("Montreal, Canada", "CA"),
    "ca-west-1": ("Calgary, Canada", "CA"),
    "cn-north-1": ("Beijing, China", "CN"),
    "cn-northwest-1": ("Ningxia, China", "CN"),
    "eu-central-1": ("Frankfurt, Germany", "DE"),
    "eu-central-2": ("Zurich, Switzerland", "CH"),
    "eu-north-1": ("Stockholm, Sweden", "SE"),
    "eu-south-1": ("Milan, Italy", "IT"),
    "eu-south-2": ("Aragon, Spain", "ES"),
    "eu-west-1": ("Ireland", "IE"),
    "eu-west-2": ("London, United Kingdom", "GB"),
    "eu-west-3": ("Paris, France", "FR"),
    "il-central-1": ("Tel Aviv, Israel", "IL"),
    "me-central-1": ("United Arab Emirates", "AE"),
    "me-south-1": ("Bahrain", "BH"),
    "mx-central-1": ("Queretaro, Mexico", "MX"),
    "sa-east-1": ("Sao Paulo, Brazil", "BR"),
    "us-east-1": ("Northern Virginia, United States", "US-VA"),
    "us-east-2": ("Ohio, United States", "US-OH"),
    "us-west-1": ("Northern California, United States", "US-CA"),
    "us-west-2": ("Oregon, United States", "US-OR"),
}

# Regions whose grid zone neither codecarbon nor Green Algorithms give (or give incompletely):
# (provider, region) -> (location, grid zone).
MANUAL: dict[tuple[str, str], tuple[str, str]] = {
    ("gcp", "us-central2"): ("Oklahoma, United States", "US-OK"),
    ("gcp", "us-east2"): ("Georgia, United States", "US-GA"),
    ("gcp", "us-east5"): ("Columbus, Ohio, United States", "US-OH"),
    ("gcp", "us-south1"): ("Dallas, Texas, United States", "US-TX"),
    ("gcp", "europe-north2"): ("Stockholm, Sweden", "SE"),
    ("gcp", "northamerica-south1"): ("Queretaro, Mexico", "MX"),
    ("azure", "qatarcentral"): ("Doha, Qatar", "QA"),
}

# Upstream typos: (provider, region as spelt upstream) -> region.
REGION_FIXES = {
    ("gcp", "me-cenrtal1"): "me-central1",
    ("azure", "germanynortheastt"): "germanynortheast",
}
# Location codes of Green Algorithms that are not ISO 3166-2 subdivisions of their prefix.
GA_LOCATION_FIXES = {"CN-HK": "HK"}
# codecarbon cities that are their own ISO 3166-1 entity.
CITY_COUNTRY = {"Hong Kong": "HK"}


def azure_region(display: str) -> str:
    """Azure's programmatic name of a display name: ``West Europe`` -> ``westeurope``."""
    base = display.split("(")[0]
    return "".join(base.split()).lower()


def read_csv(path: Path, skip: int = 0) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        for _ in range(skip):
            f.readline()
        return [
            {k.strip(): (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(f)
        ]


class Builder:
    def __init__(self, sources: Path) -> None:
        sys.path.insert(0, str(REPO / "src"))
        from wattprint.carbon import zones

        self.zones = zones
        self.sources = sources

    def zone(self, text: str) -> str:
        """The canonical registry code of ``text`` (raises if unknown)."""
        return str(self.zones.lookup_zone(text).code)

    def country(self, code: str) -> str:
        z = self.zones.lookup_zone(code)
        return str(z.parent or z.code)

    def grid(self, country: str, state: str = "") -> str:
        """Grid zone for a country code and an optional state name or code."""
        country = self.zone(country)
        if country in SUBNATIONAL_COUNTRIES and state:
            # "Northern Virginia" (codecarbon) is a part of a state, not a state.
            z = self.zones.lookup_zone(state.removeprefix("Northern ").strip())
            if z.parent != country:
                raise SystemExit(f"state {state!r} is not in {country}")
            return str(z.code)
        return country

    def ga_grid(self, location: str) -> str:
        location = GA_LOCATION_FIXES.get(location, location)
        country, _, sub = location.partition("-")
        return self.grid(country, location if sub else "")

    def build(self) -> list[dict[str, str]]:
        rows: dict[str, dict[str, str]] = {}
        srcs: dict[str, list[tuple[str, str]]] = {}
        # Green Algorithms: GCP and Azure location codes and PUE.
        ga: dict[tuple[str, str], dict[str, str]] = {}
        for r in read_csv(self.sources / GA_FILE, skip=1):
            provider = r["provider"].lower()
            if provider not in PROVIDERS:
                continue
            name = r["Name"]
            region = azure_region(name) if provider == "azure" else name
            region = REGION_FIXES.get((provider, region), region)
            ga[(provider, region)] = r
        cc: dict[str, dict[str, str]] = {}
        for r in read_csv(self.sources / CODECARBON_FILE):
            if r["provider"].lower() != "gcp":
                continue
            region = REGION_FIXES.get(("gcp", r["region"]), r["region"])
            cc[region] = r
        google = {r["Google Cloud Region"]: r for r in read_csv(self.sources / GOOGLE_FILE)}

        keys = {("gcp", reg) for reg in google} | {("gcp", reg) for reg in cc} | set(ga)
        keys |= {("aws", reg) for reg in AWS_REGIONS}
        for provider, region in sorted(keys):
            code = f"{provider}:{region}"
            parts: list[tuple[str, str]] = []
            candidates: list[tuple[str, str]] = []  # (grid zone, evidence)
            location = ""
            pue = ""
            if provider == "aws":
                location, grid = AWS_REGIONS[region]
                candidates.append((self.zone(grid), "aws"))
                parts.append((SRC_AWS, LIC_AWS))
            if (provider, region) in MANUAL:
                location, grid = MANUAL[(provider, region)]
                candidates.append((self.zone(grid), "manual"))
                parts.append((SRC_MANUAL, LIC_AWS))
            c = cc.get(region) if provider == "gcp" else None
            if c is not None:
                country = CITY_COUNTRY.get(c["city"]) or self.zone(c["countryIsoCode"])
                state = c["state"] if country in SUBNATIONAL_COUNTRIES else ""
                if country not in SUBNATIONAL_COUNTRIES or state:
                    candidates.append((self.grid(country, state), "codecarbon"))
                country_name = self.zones.lookup_zone(country).name
                skip = {"", "South Korea", country_name}
                place = [p for p in (c["city"], c["state"]) if p not in skip]
                location = location or ", ".join([*place, country_name])
                parts.append((SRC_CODECARBON, LIC_CODECARBON))
            g = ga.get((provider, region))
            if g is not None:
                if g["location"]:
                    candidates.append((self.ga_grid(g["location"]), "green-algorithms"))
                    if not location:
                        cname = self.zones.lookup_zone(self.country(candidates[-1][0])).name
                        free = g["location_freeForm"] or cname
                        location = free if free == cname else f"{free}, {cname}"
                pue = g["PUE"]
                parts.append((SRC_GA, LIC_GA))
            if not candidates:
                raise SystemExit(f"{code}: no grid zone from any input; add it to MANUAL")
            grids = {gz for gz, _ in candidates}
            if len(grids) > 1:
                raise SystemExit(f"{code}: inputs disagree on the grid zone: {candidates}")
            grid = candidates[0][0]
            if self.zone(grid) != grid:
                raise SystemExit(f"{code}: grid zone {grid!r} is not canonical")
            ba = BALANCING_AUTHORITY.get(code)
            if ba is not None:
                if self.zone(ba) != ba or self.country(ba) != self.country(grid):
                    raise SystemExit(f"{code}: balancing authority {ba!r} is not a zone of "
                                     f"{self.country(grid)}")  # fmt: skip
                grid = ba
                parts.append((SRC_BA, LIC_BA))
            gg = google.get(region) if provider == "gcp" else None
            if gg is not None:
                value = gg["Grid carbon intensity (gCO2eq / kWh)"]
                cfe = gg["Google CFE"]
                year = str(GOOGLE_YEAR)
                cfe_pct = f"{float(cfe) * 100:g}" if cfe else ""
                location = location or gg["Location"]
                parts.insert(0, (SRC_GOOGLE, LIC_GOOGLE))
                float(value)  # must parse
            else:
                value = cfe_pct = ""
                y = self.zones.intensity(grid).year
                year = "unknown" if y is None else str(y)
            seen: list[tuple[str, str]] = []
            for p in parts:
                if p not in seen:
                    seen.append(p)
            srcs[code] = seen
            rows[code] = {
                "code": code,
                "provider": provider,
                "region": region,
                "location": location,
                "grid_zone": grid,
                "provider_intensity_g_per_kwh": value,
                "provider_cfe_pct": cfe_pct,
                "year": year,
                "source": "; ".join(s for s, _ in seen),
                "licence": "; ".join(dict.fromkeys(lic for _, lic in seen)),
                "pue": pue,
            }
        return [rows[c] for c in sorted(rows)]


def write(rows: list[dict[str, str]], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    ap.add_argument("--out", type=Path, default=OUT_FILE)
    args = ap.parse_args(argv)
    if not args.sources.is_dir():
        print(f"no data sources at {args.sources}", file=sys.stderr)
        return 1
    rows = Builder(args.sources).build()
    write(rows, args.out)
    by_provider = Counter(r["provider"] for r in rows)
    with_google = sum(1 for r in rows if r["provider_intensity_g_per_kwh"])
    with_pue = sum(1 for r in rows if r["pue"])
    subnational = sum(1 for r in rows if "-" in r["grid_zone"])
    print(
        f"{args.out}: {len(rows)} regions ("
        + ", ".join(f"{p} {by_provider[p]}" for p in PROVIDERS)
        + f"); {with_google} with Google's figure, {subnational} on a sub-national grid zone "
        "(balancing authority, bidding zone, state), "
        f"{with_pue} with a PUE"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
