"""The zone registry: aliases, errors, round-trips, laziness, and the tracker's use of it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.carbon import zones
from wattprint.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("  germany ", "DE"),
        ("USA", "US"),
        ("United States", "US"),
        ("UK", "GB"),
        ("GB", "GB"),
        ("Russia", "RU"),
        ("US-CA", "US-CA"),
        ("us-ca", "US-CA"),
        ("California", "US-CA"),
        ("SE-SE3", "SE-SE3"),
        ("us_cal_ciso", "US-CAL-CISO"),
        ("RU-MOW", "RU-MOW"),
        ("world", "WORLD"),
        ("CN-BJ", "CN-BJ"),
        ("XK", "XK"),
    ],
)
def test_aliases(text: str, code: str) -> None:
    assert zones.lookup_zone(text).code == code


def test_kinds_and_parents() -> None:
    assert zones.lookup_zone("DE").kind == "country"
    assert zones.lookup_zone("world").kind == "world"
    z = zones.lookup_zone("SE-SE3")
    assert (z.kind, z.parent) == ("subnational", "SE")


def test_unknown_zone_lists_close_matches_on_one_line() -> None:
    with pytest.raises(ConfigError) as e:
        zones.lookup_zone("Germny")
    msg = str(e.value)
    assert "DE (Germany)" in msg and "\n" not in msg and "'world'" in msg
    with pytest.raises(ConfigError, match="unknown zone") as e2:
        zones.lookup_zone("x\ny")
    assert "\n" not in str(e2.value)


def test_intensity_row_choice() -> None:
    assert zones.intensity("US-CA").source.startswith("US EPA eGRID2023")  # dated, non-ODbL
    assert zones.intensity("SE-SE3").licence == "ODbL 1.0"  # only Electricity Maps has it
    assert zones.intensity("CA-ON").licence == "ODbL 1.0"  # preferred to undated eco2ai
    ru = zones.intensity("RU-MOW")
    assert ru.year is None and "undated" in ru.source
    de = zones.intensity("Germany")
    assert (de.zone, de.licence) == ("DE", "CC BY 4.0") and de.year is not None


def test_search() -> None:
    codes = [z.code for z in zones.search("SE-SE")]
    assert {"SE-SE1", "SE-SE2", "SE-SE3", "SE-SE4"} <= set(codes)
    assert zones.search("germ")[0].code == "DE"
    assert zones.search("") == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_lookup_only_raises_config_error(text: str) -> None:
    try:
        z = zones.lookup_zone(text)
    except ConfigError as e:
        assert "\n" not in str(e)
    else:
        assert zones.lookup_zone(z.code) == z


def test_every_code_round_trips_and_has_an_intensity() -> None:
    for z in zones.all_zones():
        assert zones.lookup_zone(z.code).code == z.code
        assert zones.lookup_zone(z.code.lower()).code == z.code
        assert zones.intensity(z).intensity_g_per_kwh > 0


@pytest.mark.parametrize("text", ["Germany", "DEU", "US-CA", "SE-SE3", "RU-MOW", "world"])
def test_tracker_records_the_canonical_code(text: str) -> None:
    from wattprint.tracker import Tracker

    t = Tracker(zone=text)
    assert t.carbon.intensity is not None
    assert t.carbon.intensity.zone == zones.lookup_zone(text).code


def test_import_does_not_load_the_tables() -> None:
    code = (
        "import sys, wattprint, wattprint.tracker\n"
        "m = sys.modules.get('wattprint.carbon.zones')\n"
        "assert m is None or m._registry.cache_info().currsize == 0, 'tables loaded at import'\n"
        "from wattprint.carbon import zones\n"
        "assert zones._registry.cache_info().currsize == 0\n"
        "zones.lookup_zone('DE')\n"
        "assert zones._registry.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_search_ranks_the_zone_then_its_sub_zones_and_only_then_spellings() -> None:
    from wattprint.carbon.zones import search

    japan = [z.code for z in search("japan", limit=40)]
    jp = [c for c in japan if c.startswith("JP-")]
    assert japan[0] == "JP" and len(jp) == 10 and japan[1 : 1 + len(jp)] == jp
    assert "aws:ap-northeast-1" in japan
    sweden = [z.code for z in search("sweden")]
    assert sweden[:5] == ["SE", "SE-SE1", "SE-SE2", "SE-SE3", "SE-SE4"]
    assert "SN" not in sweden and "SD" not in sweden  # no close spellings when it matched
    assert search("swedn")[0].code == "SE"  # a typo still finds it
