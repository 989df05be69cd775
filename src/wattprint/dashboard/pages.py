"""The dashboard's pages as HTML strings: every user string through ``html.escape``, every
query value through ``urllib.parse.quote``; no script but the run report's zoom; no URL off
the page's own origin."""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode

from wattprint.cli.format import duration, energy, mass
from wattprint.records.reader import MonthTotal, RunFilter, RunRow, Totals
from wattprint.records.run import Run

CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}"
    "nav{margin-bottom:1em;padding-bottom:.5em;border-bottom:1px solid #ddd}"
    "nav a{margin-right:1.2em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "form.filters label{margin-right:.8em}"
    "tr.total td{font-weight:600}"
)
NAV = (
    "<nav><a href='/'>Runs</a><a href='/projects'>Projects over time</a>"
    "<a href='/esg'>Scope 2 (ESG)</a></nav>"
)
PAGE_SIZE = 100


def run_href(run_id: str) -> str:
    """The link to a run's page: the id percent-encoded (``/``, ``?``, ``#`` included), then
    escaped for the attribute."""
    return escape("/run/" + quote(run_id, safe=""))


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)} — wattprint</title><link rel='icon' href='data:,'>"
        f"<style>{CSS}</style></head><body>{NAV}\n{body}\n</body></html>\n"
    )


def _opt(value: str, current: str | None, label: str | None = None) -> str:
    sel = " selected" if value == (current or "") else ""
    return f"<option value='{escape(value)}'{sel}>{escape(label or value)}</option>"


def _filters_form(f: RunFilter, projects: list[str], tags: list[str]) -> str:
    def select(name: str, values: list[str], current: str | None) -> str:
        return (
            f"<label>{name} <select name='{name}' id='f-{name}'>"
            + _opt("", current, "any")
            + "".join(_opt(v, current) for v in values)
            + "</select></label>"
        )

    def date_input(name: str, current: object) -> str:
        value = escape(str(current)) if current is not None else ""
        return (
            f"<label>{name} <input type='date' name='{name}' id='f-{name}' value='{value}'></label>"
        )

    return (
        "<form class='filters' method='get' action='/'>"
        + select("project", projects, f.project)
        + select("tag", tags, f.tag)
        + select("status", ["running", "finished", "failed", "interrupted"], f.status)
        + date_input("since", f.since)
        + date_input("until", f.until)
        + "<button type='submit' id='f-apply'>Filter</button> <a href='/'>clear</a></form>"
    )


def runs_page(
    f: RunFilter,
    rows: list[RunRow],
    totals: Totals,
    projects: list[str],
    tags: list[str],
    offset: int,
) -> str:
    e = escape
    out = [
        "<h1>Runs</h1>",
        _filters_form(f, projects, tags),
        f"<p id='totals'>{totals.runs} runs, {e(energy(totals.energy_kwh))}, "
        f"{e(mass(totals.co2_kg))} CO2e"
        + (
            f" ({totals.runs_without_zone} without a zone, no CO2)"
            if totals.runs_without_zone
            else ""
        )
        + "</p>",
        "<form method='get' action='/compare'><table id='runs'><tr><th></th><th>run</th>"
        "<th>started (UTC)</th><th>project</th><th>experiment</th><th>tags</th>"
        "<th>duration</th><th>energy</th><th>CO2e</th><th>zone</th><th>status</th></tr>",
    ]
    for r in rows:
        out.append(
            f"<tr><td><input type='checkbox' name='run' value='{e(r.run_id)}'></td>"
            f"<td><a href='{run_href(r.run_id)}'><code>{e(r.run_id[:12])}</code></a></td>"
            f"<td>{e(r.started_at[:19].replace('T', ' '))}</td><td class='project'>"
            f"{e(r.project)}</td><td>{e(r.experiment or '')}</td><td>{e(', '.join(r.tags))}</td>"
            f"<td class='n'>{e(duration(r.duration_s or 0.0))}</td>"
            f"<td class='n'>{e(energy(r.energy_kwh or 0.0))}</td>"
            f"<td class='n'>{e(mass(r.co2_kg)) if r.co2_kg is not None else '—'}</td>"
            f"<td>{e(r.zone or '—')}</td><td>{e(r.status)}</td></tr>"
        )
    out.append("</table><button type='submit' id='compare'>Compare the ticked runs</button></form>")
    query = {k: str(v) for k, v in vars(f).items() if v is not None}
    links = []
    if offset > 0:
        links.append(
            f"<a href='/?{e(urlencode({**query, 'offset': max(0, offset - PAGE_SIZE)}))}'>newer</a>"
        )
    if offset + len(rows) < totals.runs:
        links.append(
            f"<a href='/?{e(urlencode({**query, 'offset': offset + PAGE_SIZE}))}'>older</a>"
        )
    shown = f"{offset + 1}–{offset + len(rows)} of {totals.runs}" if rows else "no runs match"
    out.append(f"<p>{shown} {' '.join(links)}</p>")
    return page("Runs", "\n".join(out))


def month_bars_svg(months: list[MonthTotal], width: int = 700) -> str:
    """One project's energy per month as bars, the CO2e in each bar's tooltip."""
    left, top, height = 70, 10, 150
    ph = height - top - 30
    slot = min(80.0, (width - left - 10) / max(1, len(months)))
    top_kwh = max((m.energy_kwh for m in months), default=0.0) or 1.0
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
        f"height='{height}' role='img' aria-label='energy per month'>",
        f"<text x='{left - 6}' y='{top + 10}' font-size='11' text-anchor='end'>"
        f"{escape(energy(top_kwh))}</text>",
        f"<line x1='{left}' x2='{width - 10}' y1='{top + ph}' y2='{top + ph}' stroke='#999'/>",
    ]
    for i, m in enumerate(months):
        h = m.energy_kwh / top_kwh * ph
        x = left + i * slot
        out.append(
            f"<rect class='month' x='{x + 2:.1f}' y='{top + ph - h:.1f}' "
            f"width='{max(1.0, slot - 4):.1f}' height='{h:.1f}' fill='#1f77b4'><title>"
            f"{escape(m.month)}: {escape(energy(m.energy_kwh))}, {escape(mass(m.co2_kg))} CO2e, "
            f"{m.runs} runs</title></rect>"
            f"<text x='{x + slot / 2:.1f}' y='{height - 8}' font-size='10' "
            f"text-anchor='middle'>{escape(m.month)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _month_co2(m: MonthTotal) -> str:
    if m.runs_without_zone == m.runs:
        return "— (no zone)"
    note = f" ({m.runs_without_zone} runs without a zone)" if m.runs_without_zone else ""
    return escape(mass(m.co2_kg) + note)


def projects_page(months: list[MonthTotal]) -> str:
    e = escape
    by_project: dict[str, list[MonthTotal]] = {}
    for m in months:
        by_project.setdefault(m.project, []).append(m)
    out = ["<h1>Projects over time</h1>"]
    if not by_project:
        out.append("<p>No runs yet.</p>")
    for project, rows in by_project.items():
        kwh = sum(m.energy_kwh for m in rows)
        kg = sum(m.co2_kg for m in rows)
        out += [
            f"<h2>{e(project)}</h2><p>{sum(m.runs for m in rows)} runs, {e(energy(kwh))}, "
            f"{e(mass(kg))} CO2e.</p>",
            f"<figure>{month_bars_svg(rows)}</figure>",
            "<table><tr><th>month</th><th>runs</th><th>energy</th><th>CO2e</th></tr>",
            *(
                f"<tr><td>{e(m.month)}</td><td class='n'>{m.runs}</td>"
                f"<td class='n'>{e(energy(m.energy_kwh))}</td>"
                f"<td class='n'>{_month_co2(m)}</td></tr>"
                for m in rows
            ),
            "</table>",
        ]
    return page("Projects over time", "\n".join(out))


def compare_page(runs: list[Run]) -> str:
    from wattprint.records.efficiency import efficiency, final_accuracy
    from wattprint.report.figure import breakdown_svg

    e = escape
    if len(runs) < 2:
        return page(
            "Compare runs",
            "<h1>Compare runs</h1><p>Tick two or more runs in the <a href='/'>runs list</a>.</p>",
        )
    bars = [(f"{r.run_id[:12]} {r.project}", r.energy_kwh * 3.6e6, r.uncertainty_pct) for r in runs]
    head = "".join(f"<th><a href='{run_href(r.run_id)}'>{e(r.run_id[:12])}</a></th>" for r in runs)
    effs = [efficiency(r) for r in runs]

    def opt(kwh: float | None) -> str:
        return e(energy(kwh)) if kwh is not None else "—"

    lines: list[tuple[str, list[str]]] = [
        ("project", [e(r.project) for r in runs]),
        ("experiment", [e(r.experiment or "") for r in runs]),
        ("started", [e(r.started_at[:19]) for r in runs]),
        ("duration", [e(duration(r.duration_s)) for r in runs]),
        ("energy", [e(f"{energy(r.energy_kwh)} ± {r.uncertainty_pct:.0f} %") for r in runs]),
        ("CO2e", [e(mass(r.co2_kg)) if r.co2_kg is not None else "—" for r in runs]),
        ("zone", [e(r.zone or "—") for r in runs]),
        ("epochs", [str(x.epochs or "—") for x in effs]),
        ("per epoch", [opt(x.kwh_per_epoch) for x in effs]),
        ("per 1,000 items", [opt(x.kwh_per_1k_items) for x in effs]),
        (
            "final accuracy",
            [
                e(f"{a:.4g} ({x.accuracy_metric})")
                if (a := final_accuracy(r, x)) is not None
                else "—"
                for r, x in zip(runs, effs, strict=True)
            ],
        ),
        ("per accuracy point", [opt(x.kwh_per_accuracy_point) for x in effs]),
    ]
    body = [
        "<h1>Compare runs</h1>",
        f"<figure>{breakdown_svg(bars, width=700)}<figcaption>Energy per run; whiskers: each "
        "run's band.</figcaption></figure>",
        f"<table id='compare'><tr><th></th>{head}</tr>",
        *(
            f"<tr><td>{label}</td>" + "".join(f"<td class='n'>{v}</td>" for v in values) + "</tr>"
            for label, values in lines
        ),
        "</table>",
    ]
    return page("Compare runs", "\n".join(body))


def error_page(status: str, message: str) -> str:
    return page(status, f"<h1>{escape(status)}</h1><p>{escape(message)}</p>")
