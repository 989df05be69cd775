"""What every callback must show: one epoch per framework epoch, with its metrics, positive
energies that sum into the run, and the run recorded."""

from __future__ import annotations

import pytest

from wattprint.records.run import Run


def assert_epochs(run: Run | None, epochs: int, metric: str) -> None:
    assert run is not None and run.status == "finished", run and run.error
    windows = [w for w in run.windows if w.name.startswith("epoch")]
    assert run.epochs == epochs and len(windows) == epochs
    assert all(w.stage == "train" and w.energy_kwh > 0 for w in windows)
    assert all(metric in w.metrics for w in windows), [w.metrics for w in windows]
    # Epochs tile the training: together they are the run minus what ran around it.
    assert 0 < sum(w.energy_kwh for w in windows) <= run.energy_kwh * (1 + 1e-9)
    assert run.prediction is not None and run.prediction.outcome_epochs == epochs
    assert run.prediction.within_interval is not None
    assert pytest.approx(run.energy_kwh) == sum(c.energy_kwh for c in run.components)
