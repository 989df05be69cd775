"""The hand-drawn power figure: watts from cumulative joules, energy kept when downsampled."""

from __future__ import annotations

import math
import re

import pytest

from tests.records.store_helpers import make_timeline
from wattprint.records.run import TimelineData, Window
from wattprint.report.figure import power_series, power_svg


def test_watts_are_the_slope_of_the_stored_joules() -> None:
    s = power_series(make_timeline(5))
    assert s.t_s == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert s.power_w["cpu:package-0"] == pytest.approx((3.5,) * 4)
    assert s.power_w["ram"] == pytest.approx((0.25,) * 4)


def test_100k_points_become_at_most_600_intervals_with_the_same_energy() -> None:
    n = 100_000
    t = [0.1 * i for i in range(n)]  # 10 Hz for ~2.8 h
    watts = [50 + 40 * math.sin(i / 500) + (30 if i % 7 == 0 else 0) for i in range(n)]
    joules = [0.0]
    for i in range(1, n):
        joules.append(joules[-1] + watts[i] * (t[i] - t[i - 1]))
    tl = TimelineData(tuple(t), {"gpu:0": tuple(joules)})
    s = power_series(tl, max_points=600)
    assert len(s.t_s) - 1 <= 600
    assert s.t_s[0] == 0.0 and s.t_s[-1] == t[-1]
    assert s.energy_j("gpu:0") == pytest.approx(joules[-1], rel=1e-9)  # area = energy
    assert max(s.power_w["gpu:0"]) < max(watts)  # spikes are averaged, not invented


def test_a_counter_that_went_back_never_draws_negative_watts() -> None:
    tl = TimelineData((0.0, 1.0, 2.0), {"cpu": (0.0, 10.0, 5.0)})
    assert power_series(tl).power_w["cpu"] == (10.0, 0.0)


def test_the_svg_has_a_line_per_device_and_escaped_window_titles() -> None:
    w = Window("<script>x</script>", "2024-05-01T12:00:01.000Z", 2.0, 1e-6, None, 5.0, ())
    start_s = 1714564800.0  # 2024-05-01T12:00:00Z
    svg = power_svg(power_series(make_timeline(5)), (w,), start_s)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r'<polyline class="series"', svg)) == 2
    assert "<script" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    (rect,) = re.findall(r'<rect class="window" x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    # the window covers seconds 1..3 of a 0..4 s axis drawn from x=60 over 820 px
    assert float(rect[0]) == pytest.approx(60 + 820 / 4, abs=0.1)
    assert float(rect[1]) == pytest.approx(820 / 2, abs=0.1)


@pytest.mark.parametrize(
    ("end_s", "ticks"),
    [
        (1.4, ["0.0", "0.5", "1.0"]),
        (399.0, ["0", "100", "200", "300"]),
        (12.0, ["0.0", "2.5", "5.0", "7.5", "10.0"]),
        (0.05, ["0.00", "0.01", "0.02", "0.03", "0.04", "0.05"]),
    ],
)
def test_time_ticks_are_round_and_distinct(end_s: float, ticks: list[str]) -> None:
    tl = TimelineData((0.0, end_s / 2, end_s), {"cpu": (0.0, 7.0, 14.0)})
    svg = power_svg(power_series(tl))
    assert re.findall(r'text-anchor="middle">([\d.]+)</text>', svg) == ticks


def test_the_intensity_curve_is_drawn_only_when_it_changes() -> None:
    from dataclasses import replace

    from tests.records.store_helpers import make_run
    from wattprint.records.run import IntensityBin
    from wattprint.report.figure import intensity_spans, run_figure

    def hour(h: int, g: float) -> IntensityBin:
        return IntensityBin(
            f"2024-05-01T{h:02d}:00:00.000Z", f"2024-05-01T{h + 1:02d}:00:00.000Z",
            1e-3, g, "fixture", "historical", 1e-3 * g / 1000,
        )  # fmt: skip

    start_s = 1714564800.0  # 2024-05-01T12:00:00Z
    run = replace(make_run(), intensity_bins=(hour(12, 300.0), hour(13, 100.0)))
    assert intensity_spans(run, start_s) == [(0.0, 3600.0, 300.0), (3600.0, 7200.0, 100.0)]
    svg, _ = run_figure(run, TimelineData((0.0, 7200.0), {"cpu": (0.0, 7200.0)}))
    (points,) = re.findall(r'<polyline class="intensity"[^>]*points="([^"]+)"', svg)
    ys = [float(p.split(",")[1]) for p in points.split()]
    # axis top 500 (300 x 1.05 rounded up): 300 at 3/5 of the 260 px plot, 100 at 1/5
    assert ys == pytest.approx([280 - 0.6 * 260] * 2 + [280 - 0.2 * 260] * 2, abs=0.1)
    flat = replace(run, intensity_bins=(hour(12, 300.0),))
    assert intensity_spans(flat, start_s) == []
    assert 'class="intensity"' not in run_figure(flat, make_timeline(5))[0]


def test_breakdown_bars_are_proportional_with_their_bands() -> None:
    from wattprint.report.figure import breakdown_svg

    svg = breakdown_svg([("cpu:<b>", 100.0, 70.0), ("ram:dram", 50.0, 10.0)])
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.1)
    # the widest whisker (cpu +70 %) reaches the plot's right edge: 520 - 20
    whiskers = re.findall(r'<line x1="([\d.]+)" x2="([\d.]+)"', svg)
    assert float(whiskers[0][1]) == pytest.approx(500.0, abs=0.1)
    assert float(whiskers[0][0]) == pytest.approx(200 + 300 * 30 / 170, abs=0.1)
    assert "<b>" not in svg and "cpu:&lt;b&gt;" in svg


def test_co2_bars_are_as_wide_as_their_bins_and_as_tall_as_their_co2() -> None:
    from wattprint.report.figure import co2_bins_svg

    svg = co2_bins_svg([("a <b>", 0.0, 3600.0, 0.002), ("b", 3600.0, 5400.0, 0.001)])
    bars = re.findall(r'<rect class="co2bin" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" '
                      r'height="([\d.]+)"', svg)  # fmt: skip
    (x0, _, w0, h0), (x1, _, w1, h1) = ((float(v) for v in bar) for bar in bars)
    # 5400 s over 820 px; axis top 2.5 g (2 g x 1.05 rounded up) over 120 px
    assert (x0, w0, x1, w1) == pytest.approx(
        (60, 820 * 2 / 3 - 1, 60 + 820 * 2 / 3, 820 / 3 - 1), abs=0.1
    )
    assert (h0, h1) == pytest.approx((120 * 2 / 2.5, 120 * 1 / 2.5), abs=0.1)
    assert "a &lt;b&gt;: 2 g CO2e" in svg and "<b>" not in svg
