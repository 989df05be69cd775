"""The sentence a paper's appendix needs: energy with its band, CO2 with zone and intensity
source, PUE, hardware measured and how, the tool and its version."""

from __future__ import annotations

from wattprint.cli.format import duration, energy, mass
from wattprint.records.run import Run


def paper_sentence(run: Run) -> str:
    """One paragraph, plain text (the HTML page escapes it)."""
    kinds = sorted({c.name.upper() if c.name in ("cpu", "gpu", "ram") else c.name
                    for c in run.components})  # fmt: skip
    how = sorted({c.provenance for c in run.components})
    year = run.started_at[:4]
    text = (
        f"The {run.project} run used {energy(run.energy_kwh)} "
        f"(±{run.uncertainty_pct:.0f} %) of IT energy over {duration(run.duration_s)} "
        f"({', '.join(kinds) or 'no devices'}; {', '.join(how) or 'no readings'}), "
        f"measured with wattprint {run.wattprint_version or '(unknown version)'}"
    )
    if run.co2_kg is not None and run.zone:
        source = f", {run.intensity_source}" if run.intensity_source else ""
        intensity = (
            f"{run.intensity_g_per_kwh:.0f} gCO2e/kWh" if run.intensity_g_per_kwh else "grid"
        )
        text += (
            f". At a PUE of {run.pue:g} and the {run.zone} grid's {intensity} "
            f"({year}{source}), this is {mass(run.co2_kg)} CO2e"
        )
    else:
        text += "; no grid zone was given, so no CO2 is reported"
    return text + "."
