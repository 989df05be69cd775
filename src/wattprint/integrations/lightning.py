"""PyTorch Lightning: ``Trainer(callbacks=[WattprintCallback(project="...")])``.

Each training epoch becomes a wattprint epoch with the metrics Lightning collected
(``trainer.callback_metrics``: what ``self.log(...)`` logged, validation included when it ran
before the epoch's end), and the epoch's energy, watts and CO2 go to the trainer's loggers
(``wattprint/epoch_energy_kwh``...). Works with ``lightning`` and ``pytorch_lightning``.
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the older package name
    from pytorch_lightning.callbacks import Callback  # type: ignore[no-redef,assignment]

from wattprint.integrations import TrainingTracker, energy_figures

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.tracker import Tracker


class WattprintCallback(Callback):  # type: ignore[misc]
    def __init__(
        self, tracker: Tracker | None = None, *, mlflow: bool = False, **settings: Any
    ) -> None:
        super().__init__()
        self.training = TrainingTracker(tracker, mlflow=mlflow, **settings)

    @property
    def tracker(self) -> Tracker:
        return self.training.tracker

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        max_epochs = getattr(trainer, "max_epochs", None)
        self.training.begin(max_epochs if isinstance(max_epochs, int) else None)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        window = self.training.epoch(dict(trainer.callback_metrics))
        for logger in getattr(trainer, "loggers", None) or []:
            logger.log_metrics(energy_figures(window), step=trainer.current_epoch)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.training.end()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.training.end(exception)
