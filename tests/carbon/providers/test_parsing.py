"""Each provider against its recorded (documented-format) responses, and against garbage."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.carbon.providers.conftest import (
    T0,
    TOKEN,
    WT_PASSWORD,
    FakeOpener,
    WallClock,
    http_error,
    load,
)
from wattprint.carbon.providers.electricitymaps import ElectricityMapsProvider
from wattprint.carbon.providers.energidata import EnergiDataProvider
from wattprint.carbon.providers.neso import NesoProvider
from wattprint.carbon.providers.watttime import WattTimeProvider
from wattprint.errors import ConfigError, ProviderError, UnsupportedZoneError
from wattprint.settings import env_name

H = timedelta(hours=1)


# -- NESO -------------------------------------------------------------------------------------


def test_neso_national() -> None:
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    bins = NesoProvider(opener=opener).history("GB", T0, T0 + 2 * H)
    assert opener.urls == [
        "https://api.carbonintensity.org.uk/intensity/2024-03-01T10:00Z/2024-03-01T12:00Z"
    ]
    assert [b.intensity_g_per_kwh for b in bins] == [200, 210, 220]
    assert [b.kind for b in bins] == ["historical", "historical", "forecast"]
    assert {b.source for b in bins} == {"neso:national"}
    assert bins[0].end - bins[0].start == timedelta(minutes=30)
    assert all(b.signal == "average" for b in bins)


def test_neso_regional_is_forecast_only() -> None:
    opener = FakeOpener({"/regional/intensity/": "neso_regional.json"})
    bins = NesoProvider(opener=opener).history("gb-neso-13", T0, T0 + H)
    assert opener.urls[0].endswith("/regionid/13")
    assert [(b.intensity_g_per_kwh, b.kind, b.source) for b in bins] == [
        (150, "forecast", "neso:regional"),
        (160, "forecast", "neso:regional"),
    ]


def test_neso_iso_subdivisions_map_to_regions() -> None:
    opener = FakeOpener({"/regional/": "neso_regional.json"})
    NesoProvider(opener=opener).history("GB-SCT", T0, T0 + H)
    assert opener.urls[0].endswith("/regionid/16")


def test_neso_splits_long_ranges() -> None:
    opener = FakeOpener({"/intensity/": b'{"data": []}'})
    assert NesoProvider(opener=opener).history("GB", T0, T0 + timedelta(days=30)) == []
    assert len(opener.requests) == 3


def test_neso_forecast_uses_forecast_values() -> None:
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    bins = NesoProvider(opener=opener).forecast("GB", T0, T0 + 2 * H)
    assert [b.intensity_g_per_kwh for b in bins] == [195, 205, 220]
    assert {b.kind for b in bins} == {"forecast"}


def test_neso_unknown_zone() -> None:
    with pytest.raises(UnsupportedZoneError, match="GB-ENG"):
        NesoProvider(opener=FakeOpener()).history("DE", T0, T0 + H)


# -- Energi Data Service ----------------------------------------------------------------------


def test_energidata_five_minute_bins() -> None:
    opener = FakeOpener({"/dataset/CO2Emis?": "energidata_co2emis.json"})
    bins = EnergiDataProvider(opener=opener).history("DK-DK1", T0, T0 + H)
    url = opener.urls[0]
    assert url.startswith("https://api.energidataservice.dk/dataset/CO2Emis?")
    assert "PriceArea" in url and "DK1" in url and "timezone=UTC" in url
    assert [b.intensity_g_per_kwh for b in bins] == [101.0, 103.5, 99.25]  # null skipped
    assert bins[0].start == T0 and bins[0].end == T0 + timedelta(minutes=5)
    assert bins[2].start == T0 + timedelta(minutes=15)
    assert {b.source for b in bins} == {"energidataservice:CO2Emis"}


def test_energidata_forecast_dataset() -> None:
    opener = FakeOpener({"/dataset/CO2EmisProg?": "energidata_co2emis.json"})
    bins = EnergiDataProvider(opener=opener).forecast("DK1", T0, T0 + H)
    assert {b.kind for b in bins} == {"forecast"}


def test_energidata_unknown_zone() -> None:
    with pytest.raises(UnsupportedZoneError):
        EnergiDataProvider(opener=FakeOpener()).history("DK-DK3", T0, T0 + H)


# -- Electricity Maps -------------------------------------------------------------------------


def _em(
    routes: dict[str, str | bytes | BaseException],
) -> tuple[ElectricityMapsProvider, FakeOpener]:
    opener = FakeOpener(routes)
    return ElectricityMapsProvider(token=TOKEN, opener=opener), opener


def test_electricitymaps_past_range() -> None:
    provider, opener = _em({"/past-range?": "electricitymaps_past_range.json"})
    bins = provider.history("DE", T0, T0 + 3 * H)
    assert "zone=DE" in opener.urls[0]
    assert opener.requests[0].get_header("Auth-token") == TOKEN
    assert [(b.intensity_g_per_kwh, b.source) for b in bins] == [
        (380, "electricitymaps"),
        (372, "electricitymaps:estimated"),
    ]
    assert bins[1].start == T0 + H and bins[1].end == T0 + 2 * H


def test_electricitymaps_forecast() -> None:
    opener = FakeOpener({"/forecast?": "electricitymaps_forecast.json"})
    bins = ElectricityMapsProvider(token=TOKEN, opener=opener).forecast("DE", T0, T0 + 10 * H)
    assert [b.intensity_g_per_kwh for b in bins] == [300, 310]
    assert {b.kind for b in bins} == {"forecast"}


@pytest.mark.parametrize("token", [None, "", "   "])
def test_electricitymaps_needs_a_token(token: str | None) -> None:
    with pytest.raises(ConfigError, match=re.escape(env_name("electricitymaps_token"))):
        ElectricityMapsProvider(token=token)


def test_providers_never_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials come from the settings, through the caller: never from os.environ here."""
    monkeypatch.setenv(env_name("electricitymaps_token"), TOKEN)
    monkeypatch.setenv(env_name("watttime_user"), "someone")
    monkeypatch.setenv(env_name("watttime_password"), WT_PASSWORD)
    with pytest.raises(ConfigError, match="needs an API token"):
        ElectricityMapsProvider()
    with pytest.raises(ConfigError, match=re.escape(env_name("watttime_password"))):
        WattTimeProvider()
    with pytest.raises(ConfigError, match="needs an account"):
        WattTimeProvider(username="someone", password="")


def _past_range_with(row_changes: dict[str, object]) -> bytes:
    data = load("electricitymaps_past_range.json")
    assert isinstance(data, dict)
    data["data"][0].update(row_changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "answer",
    [
        b'{"zone": "DE"}',  # missing key
        b'{"data": {"a": 1}}',  # not a list
        b'{"data": [42]}',  # rows not objects
        _past_range_with({"carbonIntensity": "380"}),  # non-numeric
        _past_range_with({"carbonIntensity": -5}),  # negative
        _past_range_with({"carbonIntensity": True}),
        _past_range_with({"datetime": "not a date"}),
        _past_range_with({"datetime": None}),
        b"[1, 2",  # invalid JSON
        http_error(401),
        http_error(500, "Server Error"),
        TimeoutError(),
    ],
)
def test_electricitymaps_failures_are_redacted_provider_errors(
    answer: bytes | BaseException,
) -> None:
    provider, _ = _em({"/past-range?": answer})
    with pytest.raises(ProviderError) as info:
        provider.history("DE", T0, T0 + 3 * H)
    message = str(info.value)
    assert TOKEN not in message and "\n" not in message
    assert message.startswith("electricitymaps: ")


# -- WattTime ---------------------------------------------------------------------------------


def _wt(
    routes: dict[str, str | bytes | BaseException], wall: WallClock | None = None
) -> tuple[WattTimeProvider, FakeOpener]:
    opener = FakeOpener({"/login": "watttime_login.json", **routes})
    provider = WattTimeProvider(
        username="someone", password=WT_PASSWORD, opener=opener, clock=wall or WallClock()
    )
    return provider, opener


def test_watttime_historical_is_marginal_in_g_per_kwh() -> None:
    provider, opener = _wt({"/v3/historical?": "watttime_historical.json"})
    bins = provider.history("CAISO_NORTH", T0, T0 + H)
    assert [round(b.intensity_g_per_kwh, 4) for b in bins] == [453.5924, 408.2331, 385.7803]
    assert {(b.signal, b.source, b.kind) for b in bins} == {
        ("marginal", "watttime:co2_moer", "historical")
    }
    assert bins[0].end - bins[0].start == timedelta(minutes=5)
    login, data = opener.requests
    assert login.get_header("Authorization", "").startswith("Basic ")
    assert data.get_header("Authorization") == "Bearer FAKE-WT-BEARER-abc123xyz"
    assert "signal_type=co2_moer" in data.full_url and "region=CAISO_NORTH" in data.full_url


def test_watttime_region_from_lat_lon_and_token_reuse(wall: WallClock) -> None:
    provider, opener = _wt(
        {
            "/v3/region-from-loc?": "watttime_region_from_loc.json",
            "/v3/historical?": "watttime_historical.json",
        },
        wall,
    )
    provider.history("37.77,-122.42", T0, T0 + H)
    provider.history("37.77,-122.42", T0, T0 + H)
    assert sum("/login" in u for u in opener.urls) == 1
    assert sum("region-from-loc" in u for u in opener.urls) == 1
    wall.advance(minutes=26)  # token lifetime 30 min: renewed after 25
    provider.history("37.77,-122.42", T0, T0 + H)
    assert sum("/login" in u for u in opener.urls) == 2


def test_watttime_forecast(wall: WallClock) -> None:
    wall.now = T0 + 2 * H
    provider, opener = _wt({"/v3/forecast?": "watttime_forecast.json"}, wall)
    bins = provider.forecast("CAISO_NORTH", T0 + 2 * H, T0 + 3 * H)
    assert [b.kind for b in bins] == ["forecast", "forecast"]
    assert "horizon_hours=2" in opener.urls[-1]


@pytest.mark.parametrize(
    "answer",
    [
        http_error(403, "Forbidden"),
        b'{"data": [], "meta": {"units": "furlongs"}}',
        b'{"data": [{"point_time": "2024-03-01T10:00:00Z", "value": "x"}], '
        b'"meta": {"units": "lbs_co2_per_mwh"}}',
        b"<html>",
    ],
)
def test_watttime_failures_never_show_credentials(answer: bytes | BaseException) -> None:
    provider, _ = _wt({"/v3/historical?": answer})
    with pytest.raises(ProviderError) as info:
        provider.history("CAISO_NORTH", T0, T0 + H)
    message = str(info.value)
    assert WT_PASSWORD not in message and "FAKE-WT-BEARER" not in message
    assert "\n" not in message


def test_watttime_login_failure() -> None:
    provider, _ = _wt({})
    provider.opener = FakeOpener({"/login": http_error(401)})
    with pytest.raises(ProviderError, match="HTTP 401") as info:
        provider.history("CAISO_NORTH", T0, T0 + H)
    assert WT_PASSWORD not in str(info.value)
