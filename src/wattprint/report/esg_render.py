"""An :class:`~wattprint.report.esg.EsgReport` as text, CSV or one self-contained HTML page."""

from __future__ import annotations

import csv
import io
from html import escape

from wattprint.report.esg import EsgReport, EsgRow

METHOD = (
    "Method (GHG Protocol Scope 2 Guidance, 2015): dual reporting. Location-based: the energy "
    "bought (IT energy measured or estimated by wattprint x PUE) x the average emission "
    "intensity of the grid zone where it was used, per hour where a live provider gave hours, "
    "else the zone's annual figure. Market-based: the same energy x the emission factors of "
    "the contractual instruments the organisation holds for that zone and day (supplier-"
    "specific factor, power purchase agreement, energy attribute certificates such as RECs or "
    "GOs), for the share each covers."
)
RESIDUAL_CAVEAT = (
    "Residual mix: energy no instrument covers should take the residual mix (the grid mix "
    "without the attributes sold to others); wattprint bundles no residual-mix data, so that "
    "energy keeps its location-based intensity, which understates the market-based figure "
    "where the residual mix is dirtier than the average."
)
CLOUD_CAVEAT = (
    "Cloud regions: electricity a cloud provider buys is the provider's Scope 2; for the "
    "customer it is Scope 3 (category 1, purchased goods and services). Report those runs there."
)
UNCERTAINTY = (
    "Energy band: if the runs' errors are independent, the total's band is the root sum of "
    "squares of theirs; estimates from one model tend to lean the same way, so the band if "
    "they are fully correlated (their sum) is given too. Intensity uncertainty is not included."
)
MONTH_NOTE = "Runs are counted in the month (UTC) they started."

CSV_FIELDS = (
    "project",
    "month",
    "runs",
    "it_energy_kwh",
    "facility_energy_kwh",
    "location_co2e_kg",
    "market_co2e_kg",
    "measured_pct",
    "band_independent_pct",
    "band_correlated_pct",
)


def _cells(r: EsgRow) -> list[str]:
    return [
        r.project,
        r.month,
        str(r.runs),
        f"{r.it_energy_kwh:.6f}",
        f"{r.facility_energy_kwh:.6f}",
        f"{r.location_co2_kg:.6f}",
        f"{r.market_co2_kg:.6f}",
        f"{r.measured_pct:.1f}",
        f"{r.band_independent_pct:.1f}",
        f"{r.band_correlated_pct:.1f}",
    ]


def esg_csv(report: EsgReport) -> str:
    """One row per project and month, then a total row (project ``all projects``); cells that a
    spreadsheet would run as a formula are quoted as text."""
    from wattprint.records.exports import safe_cell

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in (*report.rows, report.total):
        w.writerow([safe_cell(c) for c in _cells(r)])
    return out.getvalue()


def _period(report: EsgReport) -> str:
    scope = f"project {report.project}" if report.project else "all projects"
    return f"{report.start} to {report.end} (both included), {scope}"


def esg_text(report: EsgReport) -> str:
    from wattprint.cli.format import energy, mass, text

    t = report.total
    lines = [
        f"Scope 2 electricity, {text(_period(report))}",
        "",
        f"  {'project':20} {'month':7} {'runs':>5} {'IT energy':>11} {'bought':>11} "
        f"{'location':>10} {'market':>10} {'measured':>8}",
    ]
    for r in (*report.rows, t):
        lines.append(
            f"  {text(r.project)[:20]:20} {r.month:7} {r.runs:5d} {energy(r.it_energy_kwh):>11} "
            f"{energy(r.facility_energy_kwh):>11} {mass(r.location_co2_kg):>10} "
            f"{mass(r.market_co2_kg):>10} {r.measured_pct:7.0f}%"
        )
    lines += [
        "",
        f"  energy band: ±{t.band_independent_pct:.1f} % (independent errors), "
        f"±{t.band_correlated_pct:.1f} % (fully correlated)",
        f"  measured: {t.measured_pct:.0f} % of IT energy; estimated: "
        f"{100 - t.measured_pct if t.it_energy_kwh > 0 else 0:.0f} %",
    ]
    if report.factors:
        lines += ["", "  contractual instruments used (market-based):"]
        for u in report.factors:
            f = u.factor
            lines.append(
                f"    line {f.line}: {f.zone} {f.start}..{f.end} {f.instrument} {f.share_pct:g} % "
                f"at {f.g_per_kwh:g} g/kWh: {energy(u.facility_energy_kwh)}, "
                f"{mass(u.market_co2_kg)}{'  ' + text(f.note) if f.note else ''}"
            )
    else:
        lines += ["", "  no contractual factors given: market-based equals location-based"]
    lines += ["", "  intensity sources:"]
    for s in report.sources:
        lines.append(
            f"    {text(s.source)} ({text(s.licence)}): {s.runs} runs, "
            f"{energy(s.facility_energy_kwh)}"
        )
    if report.excluded:
        lines += ["", f"  runs not counted ({len(report.excluded)}):"]
        for x in report.excluded:
            lines.append(
                f"    {x.run_id[:12]} {text(x.project)[:20]} {x.started_at[:16]} "
                f"{energy(x.it_energy_kwh)}: {x.reason}"
            )
    lines += ["", *(f"  {p}" for p in _notes(report))]
    return "\n".join(lines) + "\n"


def _notes(report: EsgReport) -> list[str]:
    notes = [METHOD, RESIDUAL_CAVEAT, UNCERTAINTY, MONTH_NOTE]
    if report.cloud_runs:
        notes.insert(2, f"{report.cloud_runs} runs ran in cloud regions. {CLOUD_CAVEAT}")
    return notes


CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.total td{font-weight:600}"
)


def esg_body(report: EsgReport) -> str:
    """The report as HTML body content (every string escaped), for the page or the dashboard."""
    from wattprint.cli.format import energy, mass

    e = escape
    out = [
        f"<h1>Scope 2 electricity</h1><p>{e(_period(report))}.</p>",
        "<table><tr><th>project</th><th>month</th><th>runs</th><th>IT energy</th>"
        "<th>bought (× PUE)</th><th>location-based CO2e</th><th>market-based CO2e</th>"
        "<th>measured</th></tr>",
    ]
    for r in (*report.rows, report.total):
        cls = ' class="total"' if r is report.total else ""
        out.append(
            f"<tr{cls}><td>{e(r.project)}</td><td>{e(r.month)}</td>"
            + "".join(
                f'<td class="n">{e(v)}</td>'
                for v in (
                    str(r.runs),
                    energy(r.it_energy_kwh),
                    energy(r.facility_energy_kwh),
                    mass(r.location_co2_kg),
                    mass(r.market_co2_kg),
                    f"{r.measured_pct:.0f} %",
                )
            )
            + "</tr>"
        )
    t = report.total
    out += [
        "</table>",
        f"<p>Energy band: ±{t.band_independent_pct:.1f} % if the runs' errors are independent, "
        f"±{t.band_correlated_pct:.1f} % if fully correlated. Measured: {t.measured_pct:.0f} % "
        "of IT energy; the rest is estimated from models.</p>",
        "<h2>Contractual instruments (market-based)</h2>",
    ]
    if report.factors:
        out.append(
            "<table><tr><th>line</th><th>zone</th><th>days</th><th>instrument</th>"
            "<th>share</th><th>factor</th><th>energy covered</th><th>CO2e</th><th>note</th></tr>"
        )
        for u in report.factors:
            f = u.factor
            out.append(
                f"<tr><td>{f.line}</td><td>{e(f.zone)}</td><td>{f.start} – {f.end}</td>"
                f"<td>{e(f.instrument)}</td><td class='n'>{f.share_pct:g} %</td>"
                f"<td class='n'>{f.g_per_kwh:g} g/kWh</td>"
                f"<td class='n'>{e(energy(u.facility_energy_kwh))}</td>"
                f"<td class='n'>{e(mass(u.market_co2_kg))}</td><td>{e(f.note)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>None given (<code>--factors FILE</code>): market-based equals "
                   "location-based.</p>")  # fmt: skip
    out.append(
        "<h2>Data sources</h2><table><tr><th>intensity source</th><th>licence</th>"
        "<th>runs</th><th>energy bought</th></tr>"
    )
    for s in report.sources:
        out.append(
            f"<tr><td>{e(s.source)}</td><td>{e(s.licence)}</td><td class='n'>{s.runs}</td>"
            f"<td class='n'>{e(energy(s.facility_energy_kwh))}</td></tr>"
        )
    out.append("</table>")
    if report.excluded:
        out.append(
            f"<h2>Runs not counted ({len(report.excluded)})</h2><table><tr><th>run</th>"
            "<th>project</th><th>started</th><th>IT energy</th><th>why</th></tr>"
        )
        for x in report.excluded:
            out.append(
                f"<tr><td><code>{e(x.run_id[:12])}</code></td><td>{e(x.project)}</td>"
                f"<td>{e(x.started_at[:16])}</td><td class='n'>{e(energy(x.it_energy_kwh))}</td>"
                f"<td>{e(x.reason)}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Methodology</h2>")
    out += [f"<p>{e(p)}</p>" for p in _notes(report)]
    return "\n".join(out)


def esg_html(report: EsgReport) -> str:
    """One self-contained page: no script, no URL, everything escaped."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>Scope 2 electricity, {escape(_period(report))}</title>"
        f"<style>{CSS}</style></head><body>\n{esg_body(report)}\n</body></html>\n"
    )
