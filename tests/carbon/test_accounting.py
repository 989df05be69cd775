"""Time-binned carbon accounting: CO2 = Σ E_bin × CI_bin × PUE, checked against sums worked
out here from the power profile (not from the code's interpolation)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.carbon.accounting import (
    StaticBin,
    account,
    energy_per_bin,
    hourly_bins,
    validate_pue,
)
from wattprint.errors import ConfigError
from wattprint.records.run import TimelineData

UTC = timezone.utc
J_PER_KWH = 3.6e6
T0 = datetime(2024, 3, 5, 10, 17, tzinfo=UTC)  # bin edges fall between timeline points
HOUR = timedelta(hours=1)

# (from_s, to_s, cpu power W): the CPU's power changes on sample points; the GPU draws 80 W.
CPU_PROFILE = [(0, 1800, 120.0), (1800, 5400, 300.0), (5400, 9000, 50.0), (9000, 12000, 200.0)]
GPU_W = 80.0
RUN_S = 12000


@dataclass
class ProviderBin:
    """Shaped like the providers' ``Bin`` (a plain, mutable dataclass), to check that
    accounting takes any object with these fields."""

    start: datetime
    end: datetime
    intensity_g_per_kwh: float
    source: str
    kind: str


def power_w(t: float) -> float:
    for lo, hi, p in CPU_PROFILE:
        if lo <= t < hi:
            return p + GPU_W
    return 0.0


def timeline(step_s: int = 600) -> TimelineData:
    """Cumulative joules per component at every ``step_s`` from 0 to RUN_S."""
    t = list(range(0, RUN_S + 1, step_s))
    cpu, gpu = [0.0], [0.0]
    for a, b in pairwise(t):
        cpu.append(cpu[-1] + (power_w(a) - GPU_W) * (b - a))
        gpu.append(gpu[-1] + GPU_W * (b - a))
    return TimelineData(
        t_s=tuple(float(x) for x in t),
        energy_j={"cpu:package-0": tuple(cpu), "gpu:0": tuple(gpu)},
    )


def expected_kwh(start: datetime, end: datetime) -> float:
    """Energy in [start, end) straight from the power profile: Σ P × overlap."""
    a = (start - T0).total_seconds()
    b = (end - T0).total_seconds()
    joules = 0.0
    for lo, hi, p in CPU_PROFILE:
        overlap = min(b, hi) - max(a, lo)
        if overlap > 0:
            joules += (p + GPU_W) * overlap
    return joules / J_PER_KWH


def bins() -> list[ProviderBin]:
    """Hourly bins 09:00-15:00 from a live provider, with one fallback hour."""
    h9 = datetime(2024, 3, 5, 9, tzinfo=UTC)
    values = [
        (510.0, "electricitymaps", "live"),
        (400.0, "electricitymaps", "live"),
        (350.0, "electricitymaps", "live"),
        (300.0, "ember-2023", "static"),  # the provider had no data for this hour
        (200.0, "electricitymaps", "live"),
        (150.0, "electricitymaps", "live"),
    ]
    return [
        ProviderBin(h9 + i * HOUR, h9 + (i + 1) * HOUR, ci, source, kind)
        for i, (ci, source, kind) in enumerate(values)
    ]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_co2_is_the_sum_over_bins_of_energy_times_intensity_times_pue() -> None:
    pue = 1.3
    result = account(timeline(), T0, bins(), pue)
    expected_co2 = 0.0
    expected_energy = 0.0
    for b in bins():
        e = expected_kwh(b.start, b.end)
        expected_energy += e
        expected_co2 += e * b.intensity_g_per_kwh * pue / 1000
    # The run: 10:17 to 13:37, so four hours are touched, and every watt is counted.
    assert close(
        expected_energy,
        sum(p * (hi - lo) for lo, hi, p in CPU_PROFILE) / J_PER_KWH + GPU_W * RUN_S / J_PER_KWH,
    )
    assert close(result.co2_kg, expected_co2)
    assert close(result.energy_kwh, expected_energy)
    assert result.pue == pue
    assert [r.start.hour for r in result.rows] == [10, 11, 12, 13]
    for row in result.rows:
        assert close(row.energy_kwh, expected_kwh(row.start, row.end))
        assert close(row.co2_kg, row.energy_kwh * row.intensity_g_per_kwh * pue / 1000)
    assert result.uncovered_kwh == 0.0
    mean = result.intensity_g_per_kwh
    assert mean is not None and close(mean * result.energy_kwh * pue / 1000, result.co2_kg)


def test_energy_per_bin_is_in_kwh_in_the_order_of_the_bins() -> None:
    given_bins = list(reversed(bins()))
    got = energy_per_bin(timeline(), T0, given_bins)
    assert len(got) == len(given_bins)
    for b, e in zip(given_bins, got, strict=True):
        assert close(e, expected_kwh(b.start, b.end))
    assert got[0] == 0.0 and got[-1] == 0.0  # 14:00-15:00 and 09:00-10:00: outside the run


def test_interpolation_is_linear_between_points() -> None:
    one_kwh = TimelineData(t_s=(0.0, 3600.0), energy_j={"cpu:0": (0.0, J_PER_KWH)})
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    edge = start + timedelta(minutes=15)
    halves = [
        StaticBin(start - HOUR, edge, 100.0, "a"),
        StaticBin(edge, start + 2 * HOUR, 100.0, "a"),
    ]
    assert energy_per_bin(one_kwh, start, halves) == pytest.approx([0.25, 0.75], rel=1e-12)


def test_counter_baseline_is_not_energy() -> None:
    # A cumulative series that starts above zero: only the increase is the run's energy.
    tl = TimelineData(t_s=(0.0, 1800.0), energy_j={"cpu:0": (5e6, 5e6 + 1.8e6)})
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    result = account(tl, start, hourly_bins(start, start + HOUR, 100.0, "x"))
    assert close(result.energy_kwh, 0.5)


def test_run_inside_one_bin() -> None:
    start = datetime(2024, 3, 5, 10, 5, tzinfo=UTC)
    tl = TimelineData(
        t_s=(0.0, 300.0, 900.0, 1200.0),
        energy_j={
            "cpu:0": (0.0, 30_000.0, 150_000.0, 180_000.0),
            "ram:0": (0.0, 900.0, 2700.0, 3600.0),
        },
    )
    result = account(tl, start, bins(), 1.1)
    assert len(result.rows) == 1
    (row,) = result.rows
    assert row.start == datetime(2024, 3, 5, 10, tzinfo=UTC)
    energy = (180_000.0 + 3600.0) / J_PER_KWH
    assert close(row.energy_kwh, energy)
    assert close(result.co2_kg, energy * 400.0 * 1.1 / 1000)
    assert [(s.source, s.kind, s.share) for s in result.sources] == [
        ("electricitymaps", "live", 1.0)
    ]
    assert result.intensity_source == "electricitymaps"


def test_mixed_sources_report_their_share_of_energy() -> None:
    result = account(timeline(), T0, bins(), 1.0)
    static_hour = datetime(2024, 3, 5, 12, tzinfo=UTC)
    static_kwh = expected_kwh(static_hour, static_hour + HOUR)
    total = expected_kwh(T0, T0 + timedelta(seconds=RUN_S))
    shares = {(s.source, s.kind): s for s in result.sources}
    assert set(shares) == {("electricitymaps", "live"), ("ember-2023", "static")}
    assert close(shares["ember-2023", "static"].share, static_kwh / total)
    assert close(shares["electricitymaps", "live"].share, 1 - static_kwh / total)
    assert shares["ember-2023", "static"].bins == 1
    assert shares["electricitymaps", "live"].bins == 3
    assert result.sources[0].source == "electricitymaps"  # largest share first
    assert result.intensity_source == "electricitymaps+ember-2023"
    by_hour = {r.start.hour: (r.source, r.kind) for r in result.rows}
    assert by_hour[12] == ("ember-2023", "static")
    record = json.loads(json.dumps(result.to_dict()))
    assert [b["source"] for b in record["bins"]] == [
        "electricitymaps",
        "electricitymaps",
        "ember-2023",
        "electricitymaps",
    ]
    assert record["bins"][0]["start"] == "2024-03-05T10:00:00+00:00"


@pytest.mark.parametrize("pue", [0.99, 0.0, -1.0, math.nan, math.inf, True, "1.2", None])
def test_bad_pue_is_a_one_line_config_error(pue: object) -> None:
    with pytest.raises(ConfigError) as info:
        account(timeline(), T0, bins(), pue)  # type: ignore[arg-type]
    assert "pue" in str(info.value) and "\n" not in str(info.value)


def test_pue_of_one_and_above_is_accepted() -> None:
    assert validate_pue(1) == 1.0
    assert validate_pue(1.58) == 1.58


def test_energy_outside_every_bin_is_an_error_by_default() -> None:
    holey = [b for b in bins() if b.start.hour != 12]
    with pytest.raises(ConfigError, match=r"12:00:00\+00:00 to 2024-03-05T13:00:00") as info:
        account(timeline(), T0, holey, 1.0)
    assert "uncovered='nearest'" in str(info.value) and "\n" not in str(info.value)
    late = [b for b in bins() if b.start.hour < 13]  # the run goes on past 13:00
    with pytest.raises(ConfigError, match="outside every intensity bin"):
        energy_per_bin(timeline(), T0, late)
    with pytest.raises(ConfigError, match="outside every intensity bin"):
        energy_per_bin(timeline(), T0, [])


def test_nearest_gives_a_gap_to_its_neighbours_split_at_the_middle() -> None:
    holey = [b for b in bins() if b.start.hour != 12]
    result = account(timeline(), T0, holey, 1.0, uncovered="nearest")
    noon = datetime(2024, 3, 5, 12, tzinfo=UTC)
    gap = expected_kwh(noon, noon + HOUR)
    assert close(result.uncovered_kwh, gap)
    rows = {r.start.hour: r for r in result.rows}
    assert close(rows[11].energy_kwh, expected_kwh(noon - HOUR, noon + HOUR / 2))
    assert close(rows[13].energy_kwh, expected_kwh(noon + HOUR / 2, noon + 2 * HOUR))
    assert close(result.energy_kwh, expected_kwh(T0, T0 + timedelta(seconds=RUN_S)))
    only_first = [b for b in bins() if b.start.hour == 10]
    got = energy_per_bin(timeline(), T0, only_first, uncovered="nearest")
    assert close(got[0], expected_kwh(T0, T0 + timedelta(seconds=RUN_S)))


def test_bins_that_overlap_or_are_empty_or_naive_are_refused() -> None:
    b = bins()
    overlapping = [*b, ProviderBin(b[1].start + HOUR / 2, b[1].end + HOUR / 2, 1.0, "x", "live")]
    with pytest.raises(ConfigError, match="overlap"):
        energy_per_bin(timeline(), T0, overlapping)
    with pytest.raises(ConfigError, match="end > start"):
        energy_per_bin(timeline(), T0, [ProviderBin(T0, T0, 1.0, "x", "live")])
    naive = datetime(2024, 3, 5, 10)
    with pytest.raises(ConfigError, match="timezone-aware"):
        energy_per_bin(timeline(), naive, b)
    with pytest.raises(ConfigError, match="timezone-aware"):
        energy_per_bin(timeline(), T0, [ProviderBin(naive, naive + HOUR, 1.0, "x", "live")])
    with pytest.raises(ConfigError, match="intensity"):
        account(timeline(), T0, [ProviderBin(T0, T0 + HOUR, math.nan, "x", "live")])
    with pytest.raises(ConfigError, match="negative intensity"):
        account(timeline(), T0, [ProviderBin(T0, T0 + HOUR, -1.0, "x", "live")])


def test_a_malformed_timeline_is_refused() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hour = hourly_bins(start, start + HOUR, 1.0, "x")
    going_down = TimelineData(t_s=(0.0, 1.0, 2.0), energy_j={"cpu:0": (0.0, 5.0, 4.0)})
    with pytest.raises(ConfigError, match="goes down"):
        energy_per_bin(going_down, start, hour)
    ragged = TimelineData(t_s=(0.0, 1.0), energy_j={"cpu:0": (0.0,)})
    with pytest.raises(ConfigError, match="points"):
        energy_per_bin(ragged, start, hour)


def test_an_empty_timeline_has_no_energy() -> None:
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    empty = TimelineData(t_s=(), energy_j={})
    result = account(empty, start, hourly_bins(start, start, 100.0, "x"))
    assert result.co2_kg == 0.0 and result.energy_kwh == 0.0
    assert result.intensity_g_per_kwh is None
    assert [s.share for s in result.sources] == [0.0]


def test_hourly_bins_are_aligned_to_utc_hours() -> None:
    start = datetime(2024, 3, 5, 10, 17, 30, tzinfo=UTC)
    got = hourly_bins(start, start + timedelta(hours=3, minutes=20), 123.0, "ember-2023")
    assert [(b.start.hour, b.end.hour) for b in got] == [(10, 11), (11, 12), (12, 13), (13, 14)]
    assert all(b.intensity_g_per_kwh == 123.0 and b.kind == "static" for b in got)
    assert hourly_bins(start, start, 1.0, "x") == [
        StaticBin(
            start.replace(minute=0, second=0), start.replace(hour=11, minute=0, second=0), 1.0, "x"
        )
    ]
    exact = datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert len(hourly_bins(exact, exact + 2 * HOUR, 1.0, "x")) == 2
    india = timezone(timedelta(hours=5, minutes=30))
    local = hourly_bins(datetime(2024, 3, 5, 16, 0, tzinfo=india), exact + HOUR, 1.0, "x")
    assert local[0].start == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    with pytest.raises(ConfigError):
        hourly_bins(exact, exact - HOUR, 1.0, "x")
    with pytest.raises(ConfigError):
        hourly_bins(exact, exact, -1.0, "x")


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0.0, 900.0), st.floats(0.0, 1e5)), min_size=1, max_size=30),
    offset_s=st.integers(0, 3599),
    edges=st.lists(st.integers(1, 20_000), max_size=8, unique=True),
)
def test_bins_that_cover_the_run_get_all_its_energy(
    steps: list[tuple[float, float]], offset_s: int, edges: list[int]
) -> None:
    t, e = [0.0], [0.0]
    for dt, de in steps:
        t.append(t[-1] + dt)
        e.append(e[-1] + de)
    tl = TimelineData(t_s=tuple(t), energy_j={"cpu:0": tuple(e), "ram:0": tuple(x / 7 for x in e)})
    started = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(seconds=offset_s)
    cuts = sorted(
        {started - HOUR, started + timedelta(seconds=t[-1]) + HOUR}
        | {started + timedelta(seconds=s) for s in edges}
    )
    cover = [StaticBin(a, b, 100.0, "x") for a, b in pairwise(cuts)]
    got = energy_per_bin(tl, started, cover)
    total = (e[-1] + e[-1] / 7) / J_PER_KWH
    assert all(x >= 0 for x in got)
    assert math.isclose(sum(got), total, rel_tol=1e-9, abs_tol=1e-12)
    result = account(tl, started, cover, 1.5)
    assert math.isclose(result.co2_kg, total * 100.0 * 1.5 / 1000, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class SignalBin:
    start: datetime
    end: datetime
    intensity_g_per_kwh: float
    source: str
    kind: str
    signal: str


def test_average_and_marginal_bins_are_not_added_together() -> None:
    b = bins()
    mixed = [
        SignalBin(x.start, x.end, x.intensity_g_per_kwh, x.source, x.kind, "average") for x in b
    ]
    mixed[2] = SignalBin(b[2].start, b[2].end, 700.0, "watttime", "live", "marginal")
    with pytest.raises(ConfigError, match="average and marginal"):
        account(timeline(), T0, mixed)
    marginal = [SignalBin(x.start, x.end, 700.0, "watttime", "live", "marginal") for x in b]
    assert account(timeline(), T0, marginal).signal == "marginal"
    assert account(timeline(), T0, b).signal == "average"
