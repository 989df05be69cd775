"""intensity_bins: provider bins + static fill, and graceful degradation."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.carbon.providers.conftest import T0, TOKEN, FakeOpener, http_error
from wattprint.carbon.providers import (
    PROVIDERS,
    coverage_s,
    fill,
    get_provider,
    intensity_bins,
)
from wattprint.carbon.providers.base import Bin
from wattprint.carbon.providers.electricitymaps import ElectricityMapsProvider
from wattprint.carbon.providers.neso import NesoProvider
from wattprint.errors import ConfigError
from wattprint.settings import env_name

H = timedelta(hours=1)
STATIC = 250.0


def _contiguous(bins: list[Bin], start: datetime, end: datetime) -> None:
    assert bins[0].start == start and bins[-1].end == end
    for a, b in itertools.pairwise(bins):
        assert a.end == b.start and a.end > a.start


def test_bins_cover_the_range_with_static_fill() -> None:
    provider = NesoProvider(opener=FakeOpener({"/intensity/": "neso_national.json"}))
    start, end = T0 - timedelta(minutes=20), T0 + 3 * H
    bins, warning = intensity_bins(provider, "GB", start, end, STATIC, static_source="Ember 2023")
    assert warning is None
    _contiguous(bins, start, end)
    sources = [(b.start.strftime("%H:%M"), b.source, b.intensity_g_per_kwh) for b in bins]
    assert sources == [
        ("09:40", "static: Ember 2023", STATIC),
        ("10:00", "neso:national", 200),
        ("10:30", "neso:national", 210),
        ("11:00", "neso:national", 220),
        ("11:30", "static: Ember 2023", STATIC),
        ("12:00", "static: Ember 2023", STATIC),
    ]
    assert coverage_s(bins) == {"static: Ember 2023": 20 * 60 + 90 * 60, "neso:national": 5400}


def test_provider_failure_gives_all_static_and_one_warning() -> None:
    opener = FakeOpener({"/past-range?": http_error(401)})
    provider = ElectricityMapsProvider(token=TOKEN, opener=opener)
    bins, warning = intensity_bins(provider, "DE", T0, T0 + 2.5 * H, STATIC)
    _contiguous(bins, T0, T0 + 2.5 * H)
    assert len(bins) == 3 and {b.source for b in bins} == {"static: bundled table"}
    assert warning is not None and "\n" not in warning and TOKEN not in warning
    assert "HTTP 401" in warning and "250 g/kWh" in warning


def test_unsupported_zone_degrades_too() -> None:
    bins, warning = intensity_bins(NesoProvider(opener=FakeOpener()), "FR", T0, T0 + H, STATIC)
    assert warning is not None and "not covered" in warning
    assert [b.intensity_g_per_kwh for b in bins] == [STATIC]


def test_forecast_fills_gaps_when_asked() -> None:
    opener = FakeOpener(
        {
            "/past-range?": "electricitymaps_past_range.json",
            "/forecast?": "electricitymaps_forecast.json",
        }
    )
    provider = ElectricityMapsProvider(token=TOKEN, opener=opener)
    bins, _ = intensity_bins(provider, "DE", T0, T0 + 5 * H, STATIC, use_forecast=True)
    assert [(b.kind, b.intensity_g_per_kwh) for b in bins] == [
        ("historical", 380),
        ("historical", 372),
        ("historical", STATIC),
        ("forecast", 300),
        ("forecast", 310),
    ]


def test_empty_range() -> None:
    assert intensity_bins(NesoProvider(opener=FakeOpener()), "GB", T0, T0, STATIC) == ([], None)


times = st.integers(min_value=0, max_value=48 * 60).map(lambda m: T0 + timedelta(minutes=m))


@given(
    st.lists(st.tuples(times, st.integers(1, 180), st.floats(0, 1000)), max_size=20),
    times,
    st.integers(1, 24 * 60),
)
def test_fill_is_always_contiguous(
    raw: list[tuple[datetime, int, float]], start: datetime, length_min: int
) -> None:
    bins = [Bin(s, s + timedelta(minutes=d), v, "live") for s, d, v in raw]
    end = start + timedelta(minutes=length_min)
    out = fill(bins, start, end, STATIC, "t")
    _contiguous(out, start, end)
    assert all(b.end - b.start <= H for b in out if b.source != "live")
    assert sum(coverage_s(out).values()) == (end - start).total_seconds()


def test_registry() -> None:
    assert PROVIDERS == ("neso", "energidata", "electricitymaps", "watttime")
    assert get_provider("NESO", cache=False).name == "neso"
    with pytest.raises(ConfigError, match="neso, energidata"):
        get_provider("carbonfootprint")
    with pytest.raises(ConfigError):
        get_provider("watttime")


def test_credentials_go_to_the_provider_that_takes_them() -> None:
    em = get_provider("electricitymaps", cache=False, token=TOKEN)
    assert isinstance(em, ElectricityMapsProvider) and em.secrets() == [TOKEN]
    with pytest.raises(ConfigError, match=re.escape(env_name("electricitymaps_token"))):
        get_provider("electricitymaps", cache=False)
    assert get_provider("energidata", cache=False, token=TOKEN).name == "energidata"
    wt = get_provider("watttime", cache=False, username="someone", password="pw-123456")
    assert wt.name == "watttime"
    with pytest.raises(ConfigError, match=re.escape(env_name("watttime_user"))):
        get_provider("watttime", username="someone")


def test_get_provider_options(tmp_path: Path) -> None:
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    provider = get_provider("neso", cache=False, opener=opener, timeout_s=1.5, base_url="http://x/")
    assert isinstance(provider, NesoProvider)
    assert (provider.opener, provider.timeout_s, provider.base_url) == (opener, 1.5, "http://x")
    cached = get_provider("neso", cache_dir=tmp_path)
    assert cached.name == "neso" and not isinstance(cached, NesoProvider)


def test_aware_utc_everywhere() -> None:
    provider = NesoProvider(opener=FakeOpener({"/intensity/": "neso_national.json"}))
    bins, _ = intensity_bins(provider, "GB", T0, T0 + H, STATIC)
    assert all(b.start.tzinfo is timezone.utc for b in bins)
