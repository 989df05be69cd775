"""The report's main figure as a PNG, for papers and slides, with matplotlib (the optional
``plot`` extra). The SVG and the HTML page need nothing; this module is imported only for
``report --png``, so matplotlib never loads otherwise."""

from __future__ import annotations

from wattprint.errors import UsageError
from wattprint.records.run import Run, TimelineData

INSTALL_HINT = "report --png needs matplotlib: pip install 'wattprint[plot]' (or use --svg)"


def require_matplotlib() -> None:
    """UsageError with the install line when matplotlib is missing (checked before writing)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(INSTALL_HINT)


def figure_png(run: Run, timeline: TimelineData, max_points: int = 600, dpi: int = 200) -> bytes:
    """Power per device over time (step lines), windows shaded, the grid intensity dashed on a
    right-hand axis when it changed: the same figure as the SVG."""
    import io

    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit
    from matplotlib.figure import Figure

    from wattprint.cli.format import energy
    from wattprint.records.context import parse_iso_utc
    from wattprint.report.figure import (
        COLOURS,
        OTHER_COLOUR,
        intensity_spans,
        power_series,
        windows_at,
    )

    series = power_series(timeline, max_points)
    start_s = parse_iso_utc(run.started_at).timestamp()
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for offset_s, w in windows_at(run.windows, start_s):
        ax.axvspan(offset_s, offset_s + w.duration_s, color="#eeeeee", lw=0)
    for key in sorted(series.power_w):
        watts = series.power_w[key]
        if watts:
            colour = COLOURS.get(key.split(":", 1)[0], OTHER_COLOUR)
            ax.stairs(watts, series.t_s, baseline=None, color=colour, label=key, linewidth=1.2)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("watts")
    peak = max((max(v) for v in series.power_w.values() if v), default=0.0)
    ax.set_ylim(0, peak * 1.3 or 1.0)  # room for the legend above the lines
    ax.set_xlim(series.t_s[0], series.t_s[-1])
    spans = intensity_spans(run, start_s)
    if spans:
        ax2 = ax.twinx()
        edges = [spans[0][0], *(b for _, b, _ in spans)]
        ax2.stairs(
            [g for _, _, g in spans], edges, baseline=None, color="#555555", linestyle="--", lw=1
        )
        ax2.set_ylabel("gCO2e/kWh (dashed)")
        ax2.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small", frameon=False, ncols=4)
    ax.set_title(f"{run.project}: {energy(run.energy_kwh)} ± {run.uncertainty_pct:.0f} %")
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
