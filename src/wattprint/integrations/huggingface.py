"""Hugging Face ``transformers``: ``Trainer(..., callbacks=[WattprintCallback(project=...)])``.

Each epoch of ``Trainer.train()`` becomes a wattprint epoch with the latest values the Trainer
logged for it (``loss``, ``learning_rate``, ``eval_*`` when evaluation runs per epoch), and
the epoch's energy, watts and CO2 are added to the Trainer's log history.

The Trainer logs and evaluates an epoch *after* ``on_epoch_end``, so the wattprint epoch is
closed when the next one begins (or training ends): it spans the epoch and its logging and
evaluation.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from wattprint.integrations import TrainingTracker, energy_figures

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.tracker import Tracker


class WattprintCallback(TrainerCallback):  # type: ignore[misc]
    def __init__(
        self, tracker: Tracker | None = None, *, mlflow: bool = False, **settings: Any
    ) -> None:
        self.training = TrainingTracker(tracker, mlflow=mlflow, **settings)
        self._logged: dict[str, object] = {}
        self._pending: Any = None  # the state of an epoch that ended but is not closed yet

    @property
    def tracker(self) -> Tracker:
        return self.training.tracker

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        epochs = getattr(args, "num_train_epochs", None)
        planned = int(epochs) if isinstance(epochs, (int, float)) and epochs >= 1 else None
        if getattr(args, "max_steps", -1) and getattr(args, "max_steps", -1) > 0:
            planned = None  # a step budget: the number of epochs is not known in advance
        self.training.begin(planned)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if isinstance(logs, dict):
            self._logged.update(logs)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        if isinstance(metrics, dict):
            self._logged.update(metrics)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._pending = state  # closed once its logs and evaluation are in

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._close()

    def _close(self) -> None:
        state, self._pending = self._pending, None
        if state is None:
            return
        logged = {k: v for k, v in self._logged.items() if k != "epoch"}
        window = self.training.epoch(logged)
        self._logged = {}
        state.log_history.append({"epoch": state.epoch, **energy_figures(window)})

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._close()
        self.training.end()
