"""The Lightning callback with the real library: a tiny regression model, three epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.checks import assert_epochs

L = pytest.importorskip("lightning")
torch = pytest.importorskip("torch")


class Tiny(L.LightningModule):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch: object, batch_idx: int) -> object:
        x, y = batch  # type: ignore[misc]
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self) -> object:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def test_lightning_epochs_metrics_and_logger(tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    from wattprint.integrations.lightning import WattprintCallback

    torch.manual_seed(0)
    x = torch.randn(512, 8)
    data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=32)
    callback = WattprintCallback(project="lightning", db=tmp_path / "runs.sqlite3", zone="FR")
    trainer = L.Trainer(
        max_epochs=3,
        callbacks=[callback],
        logger=CSVLogger(tmp_path / "logs"),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(Tiny(), loader)
    run = callback.tracker.run
    assert_epochs(run, 3, "train_loss")
    logged = (tmp_path / "logs").rglob("metrics.csv")
    text = "".join(p.read_text() for p in logged)
    assert "wattprint/epoch_energy_kwh" in text and "wattprint/epoch_co2_kg" in text


def test_lightning_with_a_running_tracker_leaves_it_running(tmp_path: Path) -> None:
    import wattprint
    from wattprint.integrations.lightning import WattprintCallback

    x = torch.randn(64, 8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x[:, :1]))
    with wattprint.Tracker(project="outer", db=False) as tracker:
        trainer = L.Trainer(
            max_epochs=2,
            callbacks=[WattprintCallback(tracker)],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
        )
        trainer.fit(Tiny(), loader)
        assert tracker.running  # the callback did not stop a tracker it does not own
    assert tracker.run is not None and tracker.run.epochs == 2
