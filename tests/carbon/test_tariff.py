"""Time-of-use tariffs: parsing (strictly, one-line errors), prices in local time, and the cost
of binned energy cut at the tariff's boundaries (DST included)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.carbon.accounting import StaticBin, account
from wattprint.carbon.tariff import DAY_MIN, Period, Tariff, cost, parse_tariff
from wattprint.errors import ConfigError
from wattprint.records.run import TimelineData

UTC = timezone.utc
EXAMPLE = "00:00-07:00=0.15,07:00-23:00=0.30,23:00-24:00=0.15"
TUESDAY = datetime(2024, 3, 5, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: datetime = TUESDAY) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def test_the_example_spec() -> None:
    tariff = parse_tariff(EXAMPLE)
    assert tariff.weekday == tariff.weekend
    assert tariff.weekday == (
        Period(0, 420, 0.15),
        Period(420, 1380, 0.30),
        Period(1380, 1440, 0.15),
    )
    assert tariff.price_at(at(0)) == 0.15
    assert tariff.price_at(at(6, 59)) == 0.15
    assert tariff.price_at(at(7)) == 0.30
    assert tariff.price_at(at(22, 59) + timedelta(seconds=59.9)) == 0.30
    assert tariff.price_at(at(23)) == 0.15
    assert not tariff.flat
    assert parse_tariff(tariff.to_spec()) == tariff


def test_a_flat_price() -> None:
    tariff = parse_tariff(" 0.30 ")
    assert tariff.flat
    assert tariff.weekday == (Period(0, DAY_MIN, 0.30),)
    assert tariff.price_at(at(13)) == 0.30
    assert tariff.change_points(at(0), at(0, day=TUESDAY + timedelta(days=3))) == []


def test_periods_in_any_order_and_wrapping_midnight() -> None:
    tariff = parse_tariff("7:00-23:00=0.30, 23:00-07:00=0.15")
    assert tariff == parse_tariff(EXAMPLE)
    assert parse_tariff("00:00-00:00=0.2") == parse_tariff("0.2")
    assert parse_tariff("12:00-00:00=0.2,00:00-12:00=0.1").price_at(at(12)) == 0.2


def test_clock_times_are_local_to_the_tariffs_zone() -> None:
    tariff = parse_tariff(EXAMPLE, tz="Europe/Berlin")  # CET, UTC+1, in March before DST
    assert tariff.price_at(at(6)) == 0.30  # 07:00 in Berlin
    assert tariff.price_at(at(5, 59)) == 0.15
    assert tariff.price_at(at(22)) == 0.15  # 23:00 in Berlin
    assert parse_tariff(EXAMPLE, tz="UTC").tz is UTC
    assert parse_tariff(EXAMPLE, tz=timezone(timedelta(hours=-5))).price_at(at(12)) == 0.30


def test_weekday_and_weekend_variants() -> None:
    tariff = parse_tariff("weekday:00:00-07:00=0.15,07:00-24:00=0.30; Weekends: 0.10")
    saturday = TUESDAY + timedelta(days=4)
    assert tariff.price_at(at(8)) == 0.30
    assert tariff.price_at(at(8, day=saturday)) == 0.10
    assert tariff.price_at(at(8, day=saturday + timedelta(days=2))) == 0.30  # Monday
    assert parse_tariff(tariff.to_spec()) == tariff


def test_an_eco2ai_style_mapping() -> None:
    tariff = parse_tariff({"8:30-19:00": 0.1, "19:00-6:00": 0.05, "6:00-8:30": 0.1})
    assert tariff.price_at(at(8, 29)) == 0.1
    assert tariff.price_at(at(19)) == 0.05
    assert tariff.price_at(at(5, 59)) == 0.05


@pytest.mark.parametrize(
    ("spec", "points_at"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("cheap", "'cheap'"),
        ("0.30 EUR", "'0.30 EUR'"),
        ("-0.30", "negative price '-0.30'"),
        ("00:00-12:00=0.1,12:00-24:00=-0.2", "negative price '-0.2'"),
        ("00:00-12:00=0.1,12:00-24:00=abc", "'abc'"),
        ("00:00-12:00=0.1,12:00-24:00=1e999", "too large"),
        ("00:00-12:00=0.1,12:00-24:00=nan", "'nan'"),
        ("00:00-13:00=0.1,12:00-24:00=0.2", "overlap"),
        ("00:00-11:00=0.1,12:00-24:00=0.2", "no price for 11:00-12:00"),
        ("01:00-24:00=0.2", "no price for 00:00-01:00"),
        ("00:00-23:00=0.2", "no price for 23:00-24:00"),
        ("00:00-25:00=0.2", "'25:00'"),
        ("00:00-07:60=0.1,07:60-24:00=0.2", "'07:60'"),
        ("24:00-07:00=0.1,07:00-24:00=0.2", "24:00 can only end"),
        ("00:00-24:30=0.1", "'24:30'"),
        ("07:00-07:00=0.1", "empty period"),
        ("0700-2300=0.1", "'0700'"),
        ("00:00-12:00-13:00=0.1", "bad period"),
        ("00:00-12:00=0.1;", "needs a 'weekday:' or 'weekend:' label"),
        ("weekday:0.1", "no 'weekend:' part"),
        ("weekday:0.1;weekday:0.2;weekend:0.1", "'weekday:' given twice"),
        ("weekend:0.1;holiday:0.2", "'holiday:0.2'"),
        ("0.1\n0.2", "'0.1\\n0.2'"),
        ("٣", "'٣'"),  # a non-ASCII digit is not a price
    ],
)
def test_malformed_specs_are_one_line_config_errors_naming_the_bad_part(
    spec: str, points_at: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_tariff(spec)
    message = str(info.value)
    assert "\n" not in message
    assert points_at in message
    assert message.startswith("bad tariff")


def test_a_bad_time_zone_or_naive_instant_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_tariff("0.3", tz="Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_tariff("0.3", tz="../etc/passwd")
    with pytest.raises(ConfigError, match="timezone-aware"):
        parse_tariff("0.3").price_at(datetime(2024, 1, 1))


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_raises_only_config_errors_on_any_text(text: str) -> None:
    try:
        parse_tariff(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789:-=,.;e weekdaynds", max_size=60))
def test_parse_raises_only_config_errors_on_tariff_like_text(text: str) -> None:
    try:
        tariff = parse_tariff(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        for day in (tariff.weekday, tariff.weekend):
            assert day[0].start_min == 0 and day[-1].end_min == DAY_MIN


prices = st.floats(0.0, 10.0).map(lambda p: round(p, 4))


@st.composite
def day_specs(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    cuts = sorted(draw(st.sets(st.integers(1, DAY_MIN - 1), max_size=8)))
    edges = [0, *cuts, DAY_MIN]
    return edges, [draw(prices) for _ in range(len(edges) - 1)]


def day_text(edges: list[int], day_prices: list[float], rotate: int) -> str:
    def clock(m: int) -> str:
        return f"{m // 60:02d}:{m % 60:02d}"

    items = [
        f"{clock(a)}-{clock(b)}={p}" for a, b, p in zip(edges, edges[1:], day_prices, strict=False)
    ]
    k = rotate % len(items)
    return ",".join(items[k:] + items[:k])  # order does not matter


@settings(max_examples=200, deadline=None)
@given(spec=day_specs(), rotate=st.integers(0, 10))
def test_valid_random_tariffs_cover_the_day(
    spec: tuple[list[int], list[float]], rotate: int
) -> None:
    edges, day_prices = spec
    tariff = parse_tariff(day_text(edges, day_prices, rotate))
    periods = tariff.weekday
    assert periods[0].start_min == 0 and periods[-1].end_min == DAY_MIN
    assert all(a.end_min == b.start_min for a, b in pairwise(periods))
    for minute in range(0, DAY_MIN, 7):
        i = max(j for j, e in enumerate(edges[:-1]) if e <= minute)
        assert tariff.price_at(TUESDAY + timedelta(minutes=minute + 0.5)) == day_prices[i]
    assert parse_tariff(tariff.to_spec()) == tariff


def test_cost_splits_a_bin_at_tariff_boundaries() -> None:
    tariff = parse_tariff(EXAMPLE)
    # 1 kWh spread evenly over 06:00-08:00: half at 0.15, half at 0.30.
    assert math.isclose(cost([(at(6), at(8), 1.0)], tariff), 0.5 * 0.15 + 0.5 * 0.30)
    # Across midnight and two boundaries: 22:00 to 08:00 next day, 10 kWh.
    wednesday = TUESDAY + timedelta(days=1)
    hours = {0.30: 1 + 1, 0.15: 1 + 7}
    expected = sum(10.0 * h / 10 * p for p, h in hours.items())
    assert math.isclose(cost([(at(22), at(8, day=wednesday), 10.0)], tariff), expected)
    assert math.isclose(cost([(at(6), at(8), 1.0)], tariff, pue=1.5), 1.5 * 0.225)
    assert cost([(at(6), at(6), 2.0)], tariff) == 2 * 0.15  # an instant: the price then
    assert cost([], tariff) == 0.0


def test_cost_of_an_accounting() -> None:
    start = datetime(2024, 3, 5, 6, 0, tzinfo=UTC)
    tl = TimelineData(t_s=(0.0, 7200.0), energy_j={"cpu:0": (0.0, 2 * 3.6e6)})  # 1 kW, 2 h
    bins = [
        StaticBin(start + timedelta(hours=i), start + timedelta(hours=i + 1), 300.0, "x")
        for i in range(2)
    ]
    result = account(tl, start, bins, 1.2)
    tariff = parse_tariff(EXAMPLE)
    assert math.isclose(cost(result.rows, tariff), 0.15 + 0.30)
    assert math.isclose(cost(result.rows, tariff, pue=result.pue), 1.2 * (0.15 + 0.30))


def test_cost_across_the_weekend_boundary() -> None:
    tariff = parse_tariff("weekday:0.30;weekend:0.10")
    friday = TUESDAY + timedelta(days=3)
    assert math.isclose(cost([(at(23, day=friday), at(25, day=friday), 2.0)], tariff), 0.40)


def test_cost_follows_daylight_saving_changes() -> None:
    tariff = parse_tariff("00:00-02:30=0.1,02:30-24:00=0.2", tz="Europe/Berlin")
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST at 01:00 UTC, so 02:30 never happens and the
    # price changes at the jump.
    spring = datetime(2024, 3, 31, tzinfo=UTC)
    assert math.isclose(cost([(spring, spring + timedelta(hours=2), 2.0)], tariff), 0.1 + 0.2)
    # 2024-10-27: 03:00 CEST falls back to 02:00 CET at 01:00 UTC, so 02:30 happens twice.
    autumn = datetime(2024, 10, 27, tzinfo=UTC)
    expected = 0.5 * (0.1 + 0.2 + 0.1 + 0.2)
    assert math.isclose(cost([(autumn, autumn + timedelta(hours=2), 2.0)], tariff), expected)


def test_bad_cost_rows_are_config_errors() -> None:
    tariff = parse_tariff("0.3")
    with pytest.raises(ConfigError, match="ends before"):
        cost([(at(8), at(7), 1.0)], tariff)
    with pytest.raises(ConfigError, match="negative"):
        cost([(at(7), at(8), -1.0)], tariff)
    with pytest.raises(ConfigError, match="timezone-aware"):
        cost([(datetime(2024, 1, 1), at(8), 1.0)], tariff)
    with pytest.raises(ConfigError, match="pue"):
        cost([(at(7), at(8), 1.0)], tariff, pue=0.5)


@settings(max_examples=100, deadline=None)
@given(
    spec=day_specs(),
    weekend_price=prices,
    start_min=st.integers(0, 7 * DAY_MIN),
    length_min=st.integers(1, 3 * DAY_MIN),
    energy_kwh=st.floats(0.001, 1000.0),
)
def test_cost_matches_a_minute_by_minute_sum(
    spec: tuple[list[int], list[float]],
    weekend_price: float,
    start_min: int,
    length_min: int,
    energy_kwh: float,
) -> None:
    edges, day_prices = spec
    tariff = parse_tariff(f"weekday:{day_text(edges, day_prices, 0)};weekend:{weekend_price}")
    start = TUESDAY + timedelta(minutes=start_min)
    per_minute = energy_kwh / length_min
    brute = math.fsum(
        per_minute * tariff.price_at(start + timedelta(minutes=m + 0.5)) for m in range(length_min)
    )
    got = cost([(start, start + timedelta(minutes=length_min), energy_kwh)], tariff)
    assert math.isclose(got, brute, rel_tol=1e-9, abs_tol=1e-9)


def test_tariff_dataclass_is_frozen_and_comparable() -> None:
    a = Tariff((Period(0, DAY_MIN, 0.2),), (Period(0, DAY_MIN, 0.2),))
    assert a == parse_tariff("0.2")
