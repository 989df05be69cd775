"""Run records for the exporter/importer tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wattprint.records.run import ComponentEnergy, Run, Window


def comp(
    name: str, device: str, energy_kwh: float, provenance: str = "measured"
) -> ComponentEnergy:
    return ComponentEnergy(name, device, energy_kwh, "rapl-powercap", provenance, 5.0)


def make_run(run_id: str = "r1", **kw: Any) -> Run:
    comps = (
        comp("cpu", "package-0", 0.001),
        comp("cpu", "package-1", 0.002, "estimated"),
        comp("ram", "package-0/dram", 0.0005, "integrated"),
        ComponentEnergy(
            "gpu", "NVIDIA H100", 0.01, "nvml-energy", "measured", 2.0, details={"index": 0}
        ),
    )
    base = Run(
        run_id=run_id,
        project="proj",
        started_at="2024-03-05T14:00:00.000Z",
        duration_s=12.5,
        energy_kwh=sum(c.energy_kwh for c in comps),
        co2_kg=0.0135 * 1.1 * 350 / 1000,
        zone="DE",
        intensity_g_per_kwh=350.0,
        intensity_source="ember-2023",
        pue=1.1,
        components=comps,
        scope="process",
        uncertainty_pct=3.2,
        exit_code=0,
        host="node-1",
        status="finished",
        ended_at="2024-03-05T14:00:12.500Z",
        experiment="exp-a",
        tags=("baseline", "a;b"),
    )
    return replace(base, **kw)


def epoch_windows(run: Run, n: int = 2) -> Run:
    """The run split into ``n`` equal epochs named "epoch 1".."epoch n"."""
    wins = tuple(
        Window(
            f"epoch {i + 1}",
            f"2024-03-05T14:00:0{i * 5}.000Z",
            5.0,
            run.energy_kwh / n,
            None if run.co2_kg is None else run.co2_kg / n,
            run.uncertainty_pct,
            tuple(replace(c, energy_kwh=c.energy_kwh / n) for c in run.components),
        )
        for i in range(n)
    )
    return replace(run, windows=wins)
