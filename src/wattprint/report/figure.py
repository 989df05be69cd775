"""Power per component over time as an SVG, drawn by hand (no plotting dependency).

The stored timeline is cumulative joules per device; watts are the slope between points. For
display the points are grouped into at most ``max_points`` buckets whose power is the bucket's
energy over its time, so the figure's area still equals the run's energy however many samples
were stored (100,000 render as fast as 500)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from wattprint.records.run import IntensityBin, Run, TimelineData, Window

COLOURS = {"cpu": "#1f77b4", "gpu": "#2ca02c", "ram": "#ff7f0e", "storage": "#9467bd"}
OTHER_COLOUR = "#7f7f7f"


@dataclass(frozen=True)
class PowerSeries:
    """Mean watts per device over consecutive intervals ``[t_s[i], t_s[i+1]]``."""

    t_s: tuple[float, ...]  # interval edges: one more than each device's powers
    power_w: dict[str, tuple[float, ...]]

    def energy_j(self, key: str) -> float:
        edges, watts = self.t_s, self.power_w[key]
        return sum(w * (edges[i + 1] - edges[i]) for i, w in enumerate(watts))


def power_series(timeline: TimelineData, max_points: int = 600) -> PowerSeries:
    """Watts per device from cumulative joules, in at most ``max_points`` intervals."""
    t = timeline.t_s
    n = len(t)
    if n < 2:
        return PowerSeries(tuple(t), {k: () for k in timeline.energy_j})
    step = max(1, -(-(n - 1) // max_points))  # ceil: samples per bucket
    picks = [*range(0, n - 1, step), n - 1]
    edges = tuple(t[i] for i in picks)
    power: dict[str, tuple[float, ...]] = {}
    for key, joules in timeline.energy_j.items():
        out = []
        for a, b in pairwise(picks):
            dt = t[b] - t[a]
            watts = (joules[b] - joules[a]) / dt if dt > 0 else 0.0
            out.append(watts if watts > 0 and math.isfinite(watts) else 0.0)
        power[key] = tuple(out)
    return PowerSeries(edges, power)


def _colour(key: str) -> str:
    return COLOURS.get(key.split(":", 1)[0], OTHER_COLOUR)


def _nice_step(x: float) -> float:
    """The round number (1, 2, 2.5 or 5 times a power of ten) at or above ``x``: a tick step
    or an axis top."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    base = 10.0 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= x * (1 - 1e-9):
            return m * base
    return 10 * base


def power_svg(
    series: PowerSeries,
    windows: tuple[Window, ...] = (),
    run_start_s: float = 0.0,
    width: int = 900,
    height: int = 320,
    intensity: Sequence[tuple[float, float, float]] = (),
) -> str:
    """The figure: one step line per device, windows shaded and named, axes in s and W.
    ``windows`` are placed by their start from the run start (``windows_at``); ``intensity``:
    ``(from_s, to_s, g_per_kwh)`` per time bin, drawn dashed on a right-hand axis."""
    left, right, top, bottom = 60, (70 if intensity else 20), 20, 40
    pw, ph = width - left - right, height - top - bottom
    t0 = series.t_s[0] if series.t_s else 0.0
    t1 = series.t_s[-1] if series.t_s else 1.0
    span = (t1 - t0) or 1.0
    peak = max((max(v) for v in series.power_w.values() if v), default=0.0)
    ymax = _nice_step(peak * 1.05)

    def x(t: float) -> float:
        return left + (t - t0) / span * pw

    def y(w: float) -> float:
        return top + ph - w / ymax * ph

    imax = _nice_step(max(g for _, _, g in intensity) * 1.05) if intensity else 0.0
    parts = [  # data-*: the geometry the page's zoom script redraws with (report/zoom.js)
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="power per device over time" '
        f'class="power" data-left="{left}" data-pw="{pw}" data-top="{top}" data-ph="{ph}" '
        f'data-ymax="{ymax:g}" data-imax="{imax:g}" data-t0="{t0!r}" data-t1="{t1!r}">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#ccc"/>',
    ]
    for offset_s, win in windows_at(windows, run_start_s):
        wx0, wx1 = x(max(t0, offset_s)), x(min(t1, offset_s + win.duration_s))
        if wx1 <= wx0:
            continue
        parts.append(
            f'<rect class="window" x="{wx0:.1f}" y="{top}" width="{wx1 - wx0:.1f}" '
            f'height="{ph}" fill="#f2f2f2" stroke="#d0d0d0" data-from="{offset_s!r}" '
            f'data-to="{offset_s + win.duration_s!r}">'
            f"<title>{escape(_window_title(win))}</title></rect>"
        )
    for i in range(5):  # y grid and labels
        w = ymax * i / 4.0
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y(w):.1f}" y2="{y(w):.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y(w) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{w:g}</text>"
        )
    step = _nice_step(span / 5)  # round ticks: 0, 100, 200... or 0, 0.25, 0.5...
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step * 10**decimals % 1:  # 2.5, 0.25: one more place
        decimals += 1
    k = math.ceil((t0 - 1e-9 * span) / step)
    while k * step <= t1 + 1e-9 * span:
        t = k * step
        parts.append(
            f'<text class="xtick" x="{x(t):.1f}" y="{top + ph + 16}" font-size="11" '
            'text-anchor="middle">'
            f"{t:.{decimals}f}</text>"
        )
        k += 1
    if intensity:
        pts = []
        for a, b, g in intensity:
            a, b = max(a, t0), min(b, t1)
            if b <= a:
                continue
            yy = top + ph - g / imax * ph
            pts += [f"{x(a):.1f},{yy:.1f}", f"{x(b):.1f},{yy:.1f}"]
        if pts:
            parts.append(
                f'<polyline class="intensity" fill="none" stroke="#555" stroke-width="1.2" '
                f'stroke-dasharray="5 3" points="{" ".join(pts)}">'
                "<title>grid intensity, g/kWh</title></polyline>"
            )
            for i in range(5):
                g = imax * i / 4.0
                parts.append(
                    f'<text x="{left + pw + 6}" y="{top + ph - g / imax * ph + 4:.1f}" '
                    f'font-size="11" fill="#555">{g:g}</text>'
                )
            parts.append(
                f'<text x="{width - 12}" y="{top + ph / 2}" font-size="12" fill="#555" '
                f'text-anchor="middle" transform="rotate(90 {width - 12} {top + ph / 2})">'
                "gCO2e/kWh (dashed)</text>"
            )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 6}" font-size="12" text-anchor="middle">'
        "seconds since start</text>"
        f'<text x="14" y="{top + ph / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + ph / 2})">watts</text>'
    )
    for key in sorted(series.power_w):
        watts = series.power_w[key]
        if not watts:
            continue
        pts = []
        for i, p in enumerate(watts):
            pts.append(f"{x(series.t_s[i]):.1f},{y(p):.1f}")
            pts.append(f"{x(series.t_s[i + 1]):.1f},{y(p):.1f}")
        parts.append(
            f'<polyline class="series" data-key="{escape(key)}" fill="none" '
            f'stroke="{_colour(key)}" stroke-width="1.5" '
            f'points="{" ".join(pts)}"><title>{escape(key)}</title></polyline>'
        )
    parts.append("</svg>")
    return "".join(parts)


def windows_at(windows: tuple[Window, ...], run_start_s: float) -> list[tuple[float, Window]]:
    """Each window with its start in seconds since the run started (``run_start_s``: the
    run's start as a POSIX time)."""
    from wattprint.records.context import parse_iso_utc

    out = []
    for w in windows:
        try:
            out.append((parse_iso_utc(w.started_at).timestamp() - run_start_s, w))
        except ValueError:
            continue
    return out


def _window_title(w: Window) -> str:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in w.metrics.items())
    return f"{w.name}: {w.duration_s:.1f} s, {w.energy_kwh * 3.6e6:.1f} J" + (
        f" ({metrics})" if metrics else ""
    )


def breakdown_svg(parts: list[tuple[str, float, float]], width: int = 520) -> str:
    """Energy by device as horizontal bars: ``(label, energy_j, uncertainty_pct)`` each, the
    band drawn as a whisker so a ±70 % estimate does not look as sure as a measurement."""
    row, left, right = 26, 200, 20
    height = row * len(parts) + 10
    top_j = max((j * (1 + pct / 100) for _, j, pct in parts), default=0.0) or 1.0
    scale = (width - left - right) / top_j
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="energy by device">'
    ]
    for i, (label, joules, pct) in enumerate(parts):
        y = 5 + i * row
        lo, hi = joules * (1 - min(pct, 100) / 100), joules * (1 + pct / 100)
        out.append(
            f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{joules * scale:.1f}" height="16" '
            f'fill="{_colour(label)}"><title>{escape(label)}: {joules:.4g} J ± {pct:.0f} %'
            "</title></rect>"
            f'<line x1="{left + lo * scale:.1f}" x2="{left + hi * scale:.1f}" y1="{y + 11}" '
            f'y2="{y + 11}" stroke="#222" stroke-width="1"/>'
        )
    out.append("</svg>")
    return "".join(out)


def bins_at(run: Run, run_start_s: float) -> list[tuple[float, float, IntensityBin]]:
    """The run's intensity bins with their start and end in seconds since the run started
    (``run_start_s``: its start as a POSIX time); unreadable times are left out."""
    from wattprint.records.context import parse_iso_utc

    out = []
    for b in run.intensity_bins:
        try:
            a = parse_iso_utc(b.start).timestamp() - run_start_s
            z = parse_iso_utc(b.end).timestamp() - run_start_s
        except ValueError:
            continue
        out.append((a, z, b))
    return out


def intensity_spans(run: Run, run_start_s: float) -> list[tuple[float, float, float]]:
    """The run's intensity bins as ``(from_s, to_s, g_per_kwh)`` since the run started; none
    when the run had one static value all along (a flat line says nothing)."""
    out = [(a, z, b.intensity_g_per_kwh) for a, z, b in bins_at(run, run_start_s)]
    return out if len({g for _, _, g in out}) > 1 else []


def run_figure(run: Run, timeline: TimelineData, max_points: int = 600) -> tuple[str, PowerSeries]:
    """The report's main figure for ``run`` (power per device, windows, intensity) and the
    series it draws."""
    from wattprint.records.context import parse_iso_utc

    series = power_series(timeline, max_points)
    start_s = parse_iso_utc(run.started_at).timestamp()
    svg = power_svg(series, run.windows, start_s, intensity=intensity_spans(run, start_s))
    return svg, series


def co2_bins_svg(bins: Sequence[tuple[str, float, float, float]], width: int = 900) -> str:
    """CO2 per time bin as bars over time: ``(label, from_s, to_s, co2_kg)`` each, a bar as
    wide as its bin and as tall as its CO2, its label and figure in a tooltip."""
    left, right, top, height = 60, 20, 10, 160
    ph, pw = height - top - 30, width - left - right
    t0 = min((a for _, a, _, _ in bins), default=0.0)
    t1 = max((b for _, _, b, _ in bins), default=1.0)
    span = (t1 - t0) or 1.0
    top_g = _nice_step(max((kg for *_, kg in bins), default=0.0) * 1000 * 1.05)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="CO2 per time bin">',
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{top_g:g} g</text>',
        f'<text x="{left - 6}" y="{top + ph}" font-size="11" text-anchor="end">0</text>',
    ]
    for label, a, b, kg in bins:
        x0 = left + (a - t0) / span * pw
        bar_w = max(1.0, (b - a) / span * pw - 1)
        bar_h = kg * 1000 / top_g * ph
        out.append(
            f'<rect class="co2bin" x="{x0:.1f}" y="{top + ph - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="#8c564b"><title>{escape(label)}: '
            f"{kg * 1000:.4g} g CO2e</title></rect>"
        )
    out.append(
        f'<text x="{left}" y="{height - 6}" font-size="11">{escape(bins[0][0]) if bins else ""}'
        f'</text><text x="{left + pw}" y="{height - 6}" font-size="11" text-anchor="end">'
        f"{escape(bins[-1][0]) if bins else ''}</text></svg>"
    )
    return "".join(out)
