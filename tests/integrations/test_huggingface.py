"""The Hugging Face callback with the real Trainer: a tiny torch model, two epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.checks import assert_epochs

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


class Tiny(torch.nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def forward(self, x: object, labels: object = None) -> dict[str, object]:
        out = self.layer(x)
        loss = torch.nn.functional.mse_loss(out, labels)
        return {"loss": loss, "logits": out}


class Data(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 8, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"x": self.x[i], "labels": self.x[i].sum(dim=0, keepdim=True)}


def test_trainer_epochs_metrics_and_log_history(tmp_path: Path) -> None:
    from wattprint.integrations.huggingface import WattprintCallback

    callback = WattprintCallback(project="hf", db=tmp_path / "runs.sqlite3")
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        per_device_train_batch_size=16,
        logging_strategy="epoch",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = transformers.Trainer(
        model=Tiny(), args=args, train_dataset=Data(256), callbacks=[callback]
    )
    trainer.train()
    assert_epochs(callback.tracker.run, 2, "loss")
    figures = [h for h in trainer.state.log_history if "wattprint/epoch_energy_kwh" in h]
    assert len(figures) == 2 and all(h["wattprint/epoch_energy_kwh"] > 0 for h in figures)
