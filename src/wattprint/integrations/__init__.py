"""Framework callbacks: each records the training's epochs with the framework's metrics.

| framework | module | class |
|---|---|---|
| PyTorch Lightning (``lightning``, ``pytorch_lightning``) | ``lightning`` | ``WattprintCallback`` |
| Hugging Face ``transformers`` ``Trainer`` | ``huggingface`` | ``WattprintCallback`` |
| Keras 3 (any backend) | ``keras`` | ``WattprintCallback`` |

Each takes a running :class:`~wattprint.Tracker` (``tracker=``) or the Tracker's settings as
keywords (then it starts one at the training's start and stops it at its end), records one
epoch per framework epoch with the metrics the framework logged, hands the epoch's energy,
watts and CO2 back to the framework's own logging, and prints the per-epoch line
(``progress`` setting). Importing this package imports no framework.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from wattprint.records.run import Window
    from wattprint.tracker import Tracker


MAX_METRICS = 64  # what an epoch keeps (records/windows.py refuses more)


def numbers(metrics: Mapping[str, object]) -> dict[str, float]:
    """The metrics that are numbers (tensors, numpy scalars, floats), as floats; others (text,
    arrays of several values, NaN from a diverged step, names with control characters) are
    left out rather than guessed, and past the first 64 the rest are left out too (said once):
    a framework's metrics must never stop its training."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name or any(c < " " for c in name):
            continue
        if len(out) >= MAX_METRICS:
            import warnings

            from wattprint.errors import WattprintWarning

            warnings.warn(
                f"more than {MAX_METRICS} metrics in an epoch: the rest are not recorded",
                WattprintWarning,
                stacklevel=2,
            )
            break
        item = getattr(value, "item", None)
        try:
            number = float(item() if callable(item) else value)  # type: ignore[arg-type]
        except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of many values
            continue
        if math.isfinite(number):
            out[name] = number
    return out


def energy_figures(window: Window) -> dict[str, float]:
    """An epoch's figures as metrics for the framework's logger (its units in the names)."""
    figures = {
        "wattprint/epoch_energy_kwh": window.energy_kwh,
        "wattprint/epoch_power_w": (
            window.energy_kwh * 3.6e6 / window.duration_s if window.duration_s > 0 else 0.0
        ),
    }
    if window.co2_kg is not None:
        figures["wattprint/epoch_co2_kg"] = window.co2_kg
    return figures


class TrainingTracker:
    """The part every callback shares: a tracker (given, or started here from settings) and
    the epochs of one training."""

    def __init__(
        self, tracker: Tracker | None = None, *, mlflow: bool = False, **settings: object
    ) -> None:
        self.mlflow = mlflow
        if mlflow:
            import wattprint.integrations.mlflow  # noqa: F401 - a missing extra fails here, early
        if tracker is not None and settings:
            raise TypeError("give a tracker or the Tracker's settings, not both")
        if tracker is None:
            from wattprint.tracker import Tracker

            tracker = Tracker(**settings)  # type: ignore[arg-type]  # checked now, not at fit
            self._owned = True
        else:
            self._owned = False
        self.tracker = tracker
        self.epochs: list[Window] = []
        self._training = False

    def begin(self, epochs: int | None) -> None:
        if self._owned and not self.tracker.running:
            self.tracker.start()
        self.tracker.start_training(epochs if epochs and epochs > 0 else None)
        self._training = True

    def epoch(self, metrics: Mapping[str, object]) -> Window:
        window = self.tracker.epoch(**numbers(metrics))
        self.epochs.append(window)
        if self.mlflow:
            from wattprint.integrations.mlflow import log_epoch

            log_epoch(window, len(self.epochs) - 1)
        return window

    def end(self, error: BaseException | None = None) -> None:
        """End the training (once: a second call, or one before training began, does nothing
        to the training) and stop a tracker this callback started."""
        tracker = self.tracker
        if not tracker.running:
            return
        if self._training:
            self._training = False
            tracker.stop_training()
        if self._owned:
            if error is not None:
                tracker.fail(f"{type(error).__name__}: {error}")
            run = tracker.stop()
            if self.mlflow:
                from wattprint.integrations.mlflow import log_run

                log_run(run)
