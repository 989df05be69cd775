"""Cloud regions as zones: the bundled table, lookups, intensities, PUE, and the raw inputs."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from wattprint.carbon import cloud, zones
from wattprint.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO.parent / "shared" / "data-sources"

needs_sources = pytest.mark.skipif(
    not (SOURCES / "SOURCES.csv").is_file(),
    reason=f"raw inputs not found at {SOURCES} (the shared data-sources folder of the dev tree)",
)


def _rows() -> list[dict[str, str]]:
    text = (resources.files("wattprint.data") / cloud.CLOUD_FILE).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _raw(rel: str, skip: int = 0) -> list[dict[str, str]]:
    with (SOURCES / rel).open(encoding="utf-8-sig", newline="") as f:
        for _ in range(skip):
            f.readline()
        return [
            {k.strip(): (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(f)
        ]


def test_table_shape() -> None:
    rows = _rows()
    codes = [r["code"] for r in rows]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    by_provider = {p: sum(r["provider"] == p for r in rows) for p in cloud.PROVIDERS}
    assert all(n >= 30 for n in by_provider.values()), by_provider
    for r in rows:
        assert r["code"] == f"{r['provider']}:{r['region']}" == r["code"].lower(), r
        assert r["location"] and r["source"] and r["licence"] and r["year"], r
        assert (r["provider"] == "gcp") == bool(r["provider_intensity_g_per_kwh"]), r
        assert "carbonfootprint" not in r["source"].lower(), r


def test_every_row_resolves() -> None:
    for r in _rows():
        code, grid = r["code"], r["grid_zone"]
        z = zones.lookup_zone(code)
        assert z.code == code and z.kind == "cloud", z
        assert zones.lookup_zone(code.upper()) == z
        assert zones.lookup_zone(f"{r['provider']}/{r['region']}") == z
        assert zones.lookup_zone(grid).code == grid, r
        g = zones.lookup_zone(grid)
        assert z.parent == (g.parent or g.code)
        it = zones.intensity(z)
        assert it.zone == code and it.intensity_g_per_kwh > 0 and it.source, it
        assert zones.intensity(code) == it
        pue = cloud.region_pue(code)
        assert pue is None or 1.0 <= pue < 2.0


def test_cloud_codes_are_listed() -> None:
    assert "aws:eu-west-1" in [z.code for z in zones.all_zones()]
    assert zones.search("europe-west4")[0].code == "gcp:europe-west4"
    assert "azure:westeurope" in {z.code for z in zones.search("westeurope")}


def test_aws_us_east_1_draws_from_pjm_not_the_state() -> None:
    """Northern Virginia is in PJM: a net importer's state generation rate would leave out
    what it buys from the rest of the grid."""
    z = zones.lookup_zone("aws:us-east-1")
    assert (z.kind, z.parent) == ("cloud", "US")
    assert cloud.region("AWS/US-EAST-1").grid_zone == "US-MIDA-PJM"
    it = zones.intensity(z)
    pjm = zones.intensity("US-MIDA-PJM")
    assert it.intensity_g_per_kwh == pjm.intensity_g_per_kwh
    assert (it.year, it.source, it.licence) == (pjm.year, pjm.source, pjm.licence)
    assert it.note.startswith("grid zone US-MIDA-PJM (region us-east-1)")


def test_every_region_is_on_a_zone_of_its_country_and_same_metros_agree() -> None:
    for code, r in cloud.regions().items():
        grid = zones.lookup_zone(r.grid_zone)
        assert (grid.parent or grid.code) == zones.lookup_zone(code).parent, code
    # Northern Virginia: AWS and Azure on PJM exactly; Google's own figure for its region
    # (location-based, hourly-matched basis) within the spread of the two sources
    aws, azure = zones.intensity("aws:us-east-1"), zones.intensity("azure:eastus")
    assert aws.intensity_g_per_kwh == azure.intensity_g_per_kwh
    google = zones.intensity("gcp:us-east4").intensity_g_per_kwh
    assert 0.6 * aws.intensity_g_per_kwh <= google <= aws.intensity_g_per_kwh
    # the Columbia River sites in Oregon: AWS us-west-2 and GCP us-west1 both hydro-heavy
    assert zones.intensity("aws:us-west-2").intensity_g_per_kwh < 200
    assert zones.intensity("gcp:us-west1").intensity_g_per_kwh < 200


def test_country_grid_zone() -> None:
    z = zones.lookup_zone("Azure:WestEurope")
    assert (z.code, z.parent) == ("azure:westeurope", "NL")
    it = zones.intensity(z)
    assert it.intensity_g_per_kwh == zones.intensity("NL").intensity_g_per_kwh
    assert it.note == "grid zone NL (region westeurope)" or it.note.startswith(
        "grid zone NL (region westeurope); "
    )


def test_gcp_uses_googles_figure() -> None:
    it = zones.intensity("gcp:europe-west4")
    assert it.intensity_g_per_kwh == 208.81
    assert (it.year, it.source) == (2024, cloud.GOOGLE_SOURCE)
    assert it.source == "Google region-carbon-info 2024, Apache-2.0"
    assert it.intensity_g_per_kwh != zones.intensity("NL").intensity_g_per_kwh
    assert zones.lookup_zone("gcp:europe-west4").parent == "NL"


def test_unknown_region_lists_close_matches() -> None:
    with pytest.raises(ConfigError, match="unknown zone 'aws:mars-1'") as e:
        zones.lookup_zone("aws:mars-1")
    msg = str(e.value)
    assert "did you mean aws:" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="did you mean"):
        cloud.region_pue("gcp:europe-west44")


def test_region_pue() -> None:
    assert cloud.region_pue("gcp:us-west1") == 1.11
    assert cloud.region_pue("GCP/europe-west1") == 1.08
    # AWS publishes one fleet-wide figure (2025); Microsoft some sites' measured figures
    assert cloud.region_pue("aws:us-east-1") == 1.14
    assert cloud.region_pue("Azure:WestEurope") == 1.16
    assert cloud.region_pue("azure:northeurope") == 1.22
    assert cloud.region_pue("azure:eastus") is None
    for code, (pue, year, source) in cloud.AZURE_SITE_PUE.items():
        assert cloud.region(code).provider == "azure"  # a region of the bundled table
        assert 1.0 < pue < 2.0 and 2020 <= year <= 2026
        assert "https://local.microsoft.com/" in source  # the publisher's own page
        assert cloud.pue_source(code) == (pue, year, source)
    with pytest.raises(ConfigError, match="not a cloud region"):
        cloud.region_pue("DE")


def test_bundled_codes_keep_their_meaning() -> None:
    assert zones.lookup_zone("DE").kind == "country"
    assert zones.lookup_zone("US-VA").kind == "subnational"
    assert {z.kind for z in zones.all_zones() if ":" in z.code} == {"cloud"}


def test_region_spellings_and_errors() -> None:
    r = cloud.region("gcp:europe-west4")
    assert cloud.region("GCP/Europe_West4") is r and cloud.region(" gcp:EUROPE-WEST4 ") is r
    assert (r.name, r.parent, r.aliases) == (
        zones.lookup_zone(r.code).name,
        "NL",
        ("gcp/europe-west4",),
    )
    with pytest.raises(ConfigError, match=r"^unknown cloud region 'aws:mars-1'") as e:
        cloud.region("aws:mars-1")
    assert "`wattprint zones aws:` lists them" in str(e.value)
    for text in ("DE", "Germany", "ibm:eu-de", ""):
        with pytest.raises(ConfigError, match="is not a cloud region") as e:
            cloud.region(text)
        assert "\n" not in str(e.value)


def test_import_does_not_read_the_table() -> None:
    code = (
        "import wattprint.carbon.cloud as c, wattprint.carbon.zones as z\n"
        "assert c.regions.cache_info().currsize == 0\n"
        "assert z._registry.cache_info().currsize == 0\n"
        "assert z.lookup_zone('aws:eu-west-1').parent == 'IE'\n"
        "assert c.regions.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cloud_does_not_import_the_registry() -> None:
    """The dependency goes one way: zones reads the cloud table, cloud knows nothing of zones."""
    code = (
        "import sys, wattprint.carbon.cloud as c\n"
        "c.region_pue('gcp:europe-west4')\n"
        "assert 'wattprint.carbon.zones' not in sys.modules, 'cloud imported zones'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- spot checks against the raw inputs ----------------------------------------------------

GCP_REGIONS = [
    "europe-west4",
    "us-central1",
    "us-east4",
    "asia-northeast1",
    "northamerica-northeast1",
    "europe-north1",
    "southamerica-east1",
    "australia-southeast1",
]
AZURE_REGIONS = {  # programmatic name -> Green Algorithms' display name
    "westeurope": "West Europe",
    "eastus2": "East US 2",
    "westus2": "West US 2",
    "japaneast": "Japan East",
    "uksouth": "UK South",
    "eastasia": "East Asia",
    "germanywestcentral": "Germany West Central (Public)",
    "centralus": "Central US",
}
AWS_REGIONS = {  # no raw input holds AWS: the locations are public facts; US: the grid operator
    "us-east-1": "US-MIDA-PJM",
    "us-east-2": "US-MIDA-PJM",
    "us-west-2": "US-NW-BPAT",
    "eu-west-1": "IE",
    "eu-central-1": "DE",
    "ap-northeast-1": "JP-TK",  # Tokyo: TEPCO's area
}


def _by_code() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _rows()}


def _expected_grid(location: str) -> str:
    """Green Algorithms' location code -> grid zone: US states kept, else the country."""
    if location == "CN-HK":
        return "HK"
    return location if location.startswith("US-") else location.split("-")[0]


def _same_grid(grid: str, location: str) -> bool:
    """The row's grid is the one the location gives, or a zone inside its country that the
    build script curated for the metro (a balancing authority such as ``US-MIDA-PJM``, a
    bidding zone such as ``SE-SE3``)."""
    expected = _expected_grid(location)
    if grid == expected:
        return True
    return "-" in grid and grid.split("-")[0] == expected.split("-")[0]


@needs_sources
@pytest.mark.parametrize("region", GCP_REGIONS)
def test_gcp_matches_google_and_codecarbon(region: str) -> None:
    google = {r["Google Cloud Region"]: r for r in _raw("google-region-carbon-info/2024.csv")}
    cc = {r["region"]: r for r in _raw("codecarbon-3.3.2/cloud_impact.csv")}
    row = _by_code()[f"gcp:{region}"]
    value = float(google[region]["Grid carbon intensity (gCO2eq / kWh)"])
    assert float(row["provider_intensity_g_per_kwh"]) == value
    assert zones.intensity(f"gcp:{region}").intensity_g_per_kwh == value
    country = zones.lookup_zone(cc[region]["countryIsoCode"]).code  # alpha-3 -> alpha-2
    assert zones.lookup_zone(f"gcp:{region}").parent == country


@needs_sources
@pytest.mark.parametrize(("region", "name"), sorted(AZURE_REGIONS.items()))
def test_azure_matches_green_algorithms(region: str, name: str) -> None:
    ga = {
        r["Name"]: r
        for r in _raw("green-algorithms-v3.0/cloudProviders_datacenters.csv", skip=1)
        if r["provider"] == "azure"
    }
    row = _by_code()[f"azure:{region}"]
    assert _same_grid(row["grid_zone"], ga[name]["location"])
    assert row["provider_intensity_g_per_kwh"] == ""


@pytest.mark.parametrize(("region", "grid"), sorted(AWS_REGIONS.items()))
def test_aws_grid_zones(region: str, grid: str) -> None:
    assert cloud.region(f"aws:{region}").grid_zone == grid
    assert zones.intensity(f"aws:{region}").intensity_g_per_kwh == (
        zones.intensity(grid).intensity_g_per_kwh
    )


@needs_sources
def test_all_raw_rows_are_covered() -> None:
    by_code = _by_code()
    google = _raw("google-region-carbon-info/2024.csv")
    for r in google:
        row = by_code[f"gcp:{r['Google Cloud Region']}"]
        assert float(row["provider_intensity_g_per_kwh"]) == float(
            r["Grid carbon intensity (gCO2eq / kWh)"]
        )
    for r in _raw("codecarbon-3.3.2/cloud_impact.csv"):
        region = "me-central1" if r["region"] == "me-cenrtal1" else r["region"]  # upstream typo
        assert f"gcp:{region}" in by_code
    for r in _raw("green-algorithms-v3.0/cloudProviders_datacenters.csv", skip=1):
        if r["provider"] == "gcp":
            row = by_code[f"gcp:{r['Name']}"]
            assert _same_grid(row["grid_zone"], r["location"]), r
            assert row["pue"] == r["PUE"]
        elif r["provider"] == "azure":
            region = "".join(r["Name"].split("(")[0].split()).lower().replace("eastt", "east")
            row = by_code[f"azure:{region}"]
            if r["location"]:
                assert _same_grid(row["grid_zone"], r["location"]), r


@needs_sources
def test_build_script_reproduces_the_bundled_table(tmp_path: Path) -> None:
    out = tmp_path / "cloud_regions.csv"
    script = REPO / "scripts" / "build_cloud_regions.py"
    done = subprocess.run(
        [sys.executable, str(script), "--sources", str(SOURCES), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "regions (aws" in done.stdout
    bundled = resources.files("wattprint.data") / cloud.CLOUD_FILE
    assert out.read_text(encoding="utf-8") == bundled.read_text(encoding="utf-8")
