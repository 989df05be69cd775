"""MLflow logging (optional extra ``wattprint[mlflow]``): a run's and its epochs' energy in the
active MLflow run. The callbacks do it with ``WattprintCallback(..., mlflow=True)``; any
script can call :func:`log_run` after ``stop()``::

    with mlflow.start_run():
        with wattprint.Tracker(project="resnet") as tracker:
            train()
        wattprint.integrations.mlflow.log_run(tracker.run)
"""

from __future__ import annotations

import mlflow

from wattprint.integrations import energy_figures

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.records.run import Run, Window


def log_epoch(window: Window, step: int) -> None:
    """The epoch's energy, watts and CO2 as metrics at ``step`` (the epoch's index)."""
    mlflow.log_metrics(energy_figures(window), step=step)


def log_run(run: Run) -> None:
    """The run's totals as metrics, how they were measured as params, its id as a tag."""
    metrics = {
        "wattprint/energy_kwh": run.energy_kwh,
        "wattprint/duration_s": run.duration_s,
        "wattprint/uncertainty_pct": run.uncertainty_pct,
    }
    if run.co2_kg is not None:
        metrics["wattprint/co2_kg"] = run.co2_kg
    if run.overhead is not None:
        metrics["wattprint/overhead_energy_kwh"] = run.overhead.energy_kwh
    mlflow.log_metrics(metrics)
    params = {
        "wattprint.zone": run.zone or "none",
        "wattprint.scope": run.scope,
        "wattprint.pue": run.pue,
        "wattprint.methods": ",".join(sorted({f"{c.name}:{c.method}" for c in run.components})),
    }
    mlflow.log_params(params)
    mlflow.set_tag("wattprint.run_id", run.run_id)
