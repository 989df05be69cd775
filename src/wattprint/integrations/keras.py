"""Keras 3 (any backend): ``model.fit(..., callbacks=[WattprintCallback(project="...")])``.

Each epoch of ``fit`` becomes a wattprint epoch with the epoch's logs (``loss``, ``accuracy``,
``val_*``), and the epoch's energy, watts and CO2 are written into those logs, so the
``History`` object, CSVLogger, TensorBoard and any callback after this one see them.

Keras calls no callback when ``fit`` raises: a tracker the callback started then stays open
(recorded as interrupted at exit) unless the script calls ``callback.close(error)``.
"""

from __future__ import annotations

from typing import Any

import keras

from wattprint.integrations import TrainingTracker, energy_figures

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.tracker import Tracker


class WattprintCallback(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(
        self, tracker: Tracker | None = None, *, mlflow: bool = False, **settings: Any
    ) -> None:
        super().__init__()
        self.training = TrainingTracker(tracker, mlflow=mlflow, **settings)

    @property
    def tracker(self) -> Tracker:
        return self.training.tracker

    def on_train_begin(self, logs: Any = None) -> None:
        epochs = (self.params or {}).get("epochs")
        self.training.begin(epochs if isinstance(epochs, int) else None)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        window = self.training.epoch(logs or {})
        if isinstance(logs, dict):
            logs.update(energy_figures(window))

    def on_train_end(self, logs: Any = None) -> None:
        self.training.end()

    def close(self, error: BaseException | None = None) -> None:
        """End the training (and the tracker the callback started), e.g. after ``fit`` raised."""
        self.training.end(error)
