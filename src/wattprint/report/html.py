"""The self-contained HTML report: one file, inline CSS and SVG, no URL. Its one script (the
figure's zoom, ``zoom.js``) is allowed by its hash in the page's Content-Security-Policy and
nothing else may run or be fetched. Every user-supplied string (project, experiment, tags,
window names, metrics, warnings) goes through ``html.escape``; the zoom's data block is JSON
with ``<``, ``>`` and ``&`` escaped."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from wattprint.carbon.compare import HourCO2, ZoneCO2
from wattprint.cli.format import duration, energy, mass
from wattprint.records.run import Run, TimelineData
from wattprint.report.figure import (
    COLOURS,
    OTHER_COLOUR,
    bins_at,
    breakdown_svg,
    co2_bins_svg,
    intensity_spans,
    power_series,
    run_figure,
)
from wattprint.report.sentence import paper_sentence
from wattprint.report.suggest import Suggestion

CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".key{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}"
    "blockquote{background:#f6f6f6;padding:.8em 1em;margin:0}"
)


@lru_cache(maxsize=1)
def zoom_script() -> str:
    """The figure's zoom script (report/zoom.js): a file of the package, read once."""
    from importlib import resources

    return (resources.files("wattprint.report") / "zoom.js").read_text(encoding="utf-8")


def zoom_script_hash() -> str:
    """The CSP source that lets the zoom script, and no other, run: its SHA-256."""
    import base64
    import hashlib

    digest = hashlib.sha256(zoom_script().encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def zoom_data(run: Run, timeline: TimelineData, max_points: int = 4000) -> str:
    """The finer series the zoom redraws from, as a JSON data block (never executed; ``<``,
    ``>`` and ``&`` escaped so no name can close the element)."""
    import json

    from wattprint.records.context import parse_iso_utc

    series = power_series(timeline, max_points)
    spans = intensity_spans(run, parse_iso_utc(run.started_at).timestamp())
    doc = {
        "t": [float(f"{t:.9g}") for t in series.t_s],
        "w": {k: [float(f"{w:.6g}") for w in v] for k, v in series.power_w.items()},
        "i": [[a, b, g] for a, b, g in spans],
    }
    try:
        text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    except ValueError:  # an infinite time in an imported timeline: no zoom, the figure stays
        return ""
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="power-data">{text}</script>'


def _row(*cells: str, numeric: tuple[int, ...] = ()) -> str:
    return (
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def render_html(
    run: Run,
    timeline: TimelineData | None,
    other_zones: list[ZoneCO2] | None = None,
    max_points: int = 600,
    suggestions: list[Suggestion] | None = None,
    hours: list[HourCO2] | None = None,
    nav: str = "",
) -> str:
    """The page for ``run`` (its ``timeline`` as stored, or None: no figure; ``other_zones``:
    the same energy in other grids, from ``carbon.compare.in_zones``; ``suggestions``: from
    ``report.suggest.suggestions``; ``hours``: the run at each hour of its day, from
    ``carbon.compare.at_hours``, or None: not asked; ``nav``: trusted HTML put first in the body,
    the dashboard's links)."""
    e = escape
    title = f"wattprint — {run.project}" + (f" / {run.experiment}" if run.experiment else "")
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        f"style-src 'unsafe-inline'; img-src data:; script-src '{zoom_script_hash()}'\">",
        f"<title>{e(title)}</title><link rel='icon' href='data:,'><style>{CSS}</style></head>"
        f"<body>{nav}",
        f"<h1>{e(title)}</h1>",
        f"<p>Run <code>{e(run.run_id)}</code> on {e(run.host or '?')}, started "
        f"{e(run.started_at)}, {e(duration(run.duration_s))}, status {e(run.status)}"
        + (f", tags {e(', '.join(run.tags))}" if run.tags else "")
        + ".</p>",
        "<h2>Totals</h2><table>",
        _row(
            "IT energy", e(f"{energy(run.energy_kwh)} ± {run.uncertainty_pct:.0f} %"), numeric=(1,)
        ),
        _row(
            "CO2e",
            e(mass(run.co2_kg)) if run.co2_kg is not None else "— (no zone given)",
            numeric=(1,),
        ),
        _row("zone", e(run.zone or "—")),
        _row(
            "intensity",
            e(f"{run.intensity_g_per_kwh:.0f} g/kWh ({run.intensity_source or '?'})")
            if run.intensity_g_per_kwh is not None
            else "—",
        ),
        _row("PUE", e(f"{run.pue:g}"), numeric=(1,)),
        "</table>",
    ]
    if timeline is not None and len(timeline.t_s) >= 2:
        svg, series = run_figure(run, timeline, max_points)
        legend = "".join(
            f'<span class="key" style="background:'
            f'{COLOURS.get(k.split(":", 1)[0], OTHER_COLOUR)}"></span>{e(k)}'
            for k in sorted(series.power_w)
        )
        out += [
            "<h2>Power over time</h2>",
            '<p id="zoom-controls" hidden><button id="zoom-out" type="button">Zoom out</button> '
            '<button id="zoom-reset" type="button">Reset zoom</button> '
            '<span id="zoom-status"></span>; drag across the plot to zoom into a stretch.</p>',
            f"<figure>{svg}",
            f"<figcaption>{legend}<br>Mean watts per device over "
            f"{len(series.t_s) - 1} intervals ({len(timeline.t_s)} stored points)"
            + ("; shaded: windows and epochs" if run.windows else "")
            + ".</figcaption></figure>",
            zoom_data(run, timeline),
            f"<script>{zoom_script()}</script>",
        ]
    else:
        out.append("<p>No timeline is stored for this run, so there is no figure.</p>")
    bars = [
        (f"{c.name}:{c.device}", c.energy_kwh * 3.6e6, c.uncertainty_pct)
        for c in sorted(run.components, key=lambda c: -c.energy_kwh)
    ]
    out.append("<h2>Energy by device</h2>")
    if bars:
        caption = "Bars: energy; whiskers: each device's band."
        out.append(f"<figure>{breakdown_svg(bars)}<figcaption>{caption}</figcaption></figure>")
    out.append(
        "<table><tr><th>device</th><th>energy</th><th>share</th><th>how</th><th>band</th></tr>"
    )
    total = run.energy_kwh or 1.0
    for c in sorted(run.components, key=lambda c: -c.energy_kwh):
        out.append(
            _row(
                e(f"{c.name} {c.device}"),
                e(energy(c.energy_kwh)),
                e(f"{100 * c.energy_kwh / total:.1f} %"),
                e(f"{c.provenance} ({c.method})"),
                e(f"± {c.uncertainty_pct:.0f} %"),
                numeric=(1, 2, 4),
            )
        )
    out.append("</table>")
    if run.windows:
        out.append(
            "<h2>Windows and epochs</h2><table><tr><th>name</th><th>stage</th><th>time</th>"
            "<th>energy</th><th>CO2e</th><th>metrics</th></tr>"
        )
        for w in run.windows:
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in w.metrics.items())
            out.append(
                _row(
                    e(w.name),
                    e(w.stage or ""),
                    e(duration(w.duration_s)),
                    e(energy(w.energy_kwh)),
                    e(mass(w.co2_kg)) if w.co2_kg is not None else "—",
                    e(metrics),
                    numeric=(2, 3, 4),
                )
            )
        out.append("</table>")
    if run.intensity_bins:
        out.append("<h2>CO2 per time bin</h2>")
        if len(run.intensity_bins) > 1:
            out.append(
                f"<figure>{co2_bins_svg(_bin_bars(run))}<figcaption>Bars: CO2e per "
                "bin (energy x PUE x the bin's intensity); hover for figures."
                "</figcaption></figure>"
            )
        out.append(
            "<table><tr><th>from</th><th>to</th><th>energy</th>"
            "<th>intensity</th><th>source</th><th>CO2e</th></tr>"
        )
        for b in run.intensity_bins:
            out.append(
                _row(
                    e(b.start),
                    e(b.end),
                    e(energy(b.energy_kwh)),
                    e(f"{b.intensity_g_per_kwh:.0f} g/kWh"),
                    e(f"{b.source} ({b.kind})"),
                    e(mass(b.co2_kg)),
                    numeric=(2, 3, 5),
                )
            )
        out.append("</table>")
    if other_zones:
        out.append(
            f"<h2>The same run in other zones</h2><p>{e(energy(run.energy_kwh))} at PUE "
            f"{run.pue:g}, each zone's bundled annual intensity (no hour of day).</p><table>"
            "<tr><th>zone</th><th>CO2e</th><th>× lowest</th><th>intensity</th>"
            "<th>source</th></tr>"
        )
        lowest = other_zones[0].co2_kg
        for z in other_zones:
            mark = " (this run)" if z.zone == run.zone else ""
            out.append(
                _row(
                    e(f"{z.zone} {z.name}{mark}"),
                    e(mass(z.co2_kg)),
                    e(f"{z.co2_kg / lowest:.1f}") if lowest > 0 else "—",
                    e(f"{z.intensity_g_per_kwh:g} g/kWh"),
                    e(f"{z.source}, {z.year or 'undated'}"),
                    numeric=(1, 2, 3),
                )
            )
        out.append("</table>")
    out += _hours_table(run, hours)
    if run.co2_kg is not None and run.co2_kg > 0:
        from wattprint.carbon.equivalents import equivalents

        out.append(
            f"<h2>In everyday terms</h2><p>{e(mass(run.co2_kg))} CO2e is about:</p><table>"
            "<tr><th>amount</th><th>of</th><th>figure and source</th></tr>"
        )
        for q in equivalents(run.co2_kg):
            out.append(_row(e(f"{q.amount:.3g} {q.unit}"), e(q.label), e(q.source), numeric=(0,)))
        out.append("</table>")
    if suggestions:
        out.append(
            "<h2>What would have lowered it</h2><table><tr><th>suggestion</th><th>saving</th>"
            "<th>confidence</th><th>assumptions and source</th></tr>"
        )
        for sg in suggestions:
            saving = [energy(sg.saving_kwh)] if sg.saving_kwh > 0 else []
            saving += [f"{mass(sg.saving_kg)} CO2e"] if sg.saving_kg is not None else []
            notes = "; ".join([*sg.assumptions, *([f"source: {sg.source}"] if sg.source else [])])
            out.append(
                _row(e(sg.advice), e(", ".join(saving)), e(sg.confidence), e(notes), numeric=(1,))
            )
        out.append("</table>")
    if run.warnings:
        out.append("<h2>Warnings</h2><ul>")
        out += [f"<li>{e(w)}</li>" for w in run.warnings]
        out.append("</ul>")
    out += [
        "<h2>For a paper</h2>",
        f"<blockquote>{e(paper_sentence(run))}</blockquote>",
        "</body></html>",
    ]
    return "\n".join(out) + "\n"


def _hours_table(run: Run, hours: list[HourCO2] | None) -> list[str]:
    e = escape
    if hours is None:
        return [
            "<h2>The same run at other hours</h2><p>Not asked: <code>wattprint report RUN "
            "--hours</code> prices the run at each hour of its day with the configured live "
            "provider's history.</p>"
        ]
    if not hours:
        why = (
            "The run lasted no time, so there is nothing to move."
            if run.duration_s <= 0
            else "The provider had no history for it."
        )
        return [f"<h2>The same run at other hours</h2><p>{why}</p>"]
    low = min(h.co2_kg for h in hours)
    out = [
        "<h2>The same run at other hours</h2>"
        f"<p>Started on the hour, each hour of {e(hours[0].start[:10])} (UTC), the same energy "
        "priced with the provider's hourly history.</p><table><tr><th>start (UTC)</th>"
        "<th>CO2e</th><th>× lowest</th><th></th></tr>"
    ]
    for h in hours:
        mark = "" if h.covered else "partly the zone's annual value"
        ratio = e(f"{h.co2_kg / low:.2f}") if low > 0 else "—"
        out.append(_row(e(h.start[11:16]), e(mass(h.co2_kg)), ratio, e(mark), numeric=(1, 2)))
    out.append("</table>")
    return out


def _bin_bars(run: Run) -> list[tuple[str, float, float, float]]:
    """The run's intensity bins as ``(label, from_s, to_s, co2_kg)``, seconds since its start."""
    from wattprint.records.context import parse_iso_utc

    start_s = parse_iso_utc(run.started_at).timestamp()
    return [
        (f"{b.start[:16]} UTC, {b.intensity_g_per_kwh:.0f} g/kWh", a, z, b.co2_kg)
        for a, z, b in bins_at(run, start_s)
    ]
