"""The Keras callback with real Keras 3 (torch backend): a tiny model, three epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.checks import assert_epochs

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")


def test_fit_epochs_metrics_and_history(tmp_path: Path) -> None:
    from wattprint.integrations.keras import WattprintCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    callback = WattprintCallback(project="keras", db=tmp_path / "runs.sqlite3", zone="DE")
    history = model.fit(
        x, y, epochs=3, batch_size=64, verbose=0, callbacks=[callback], validation_split=0.25
    )
    run = callback.tracker.run
    assert_epochs(run, 3, "val_accuracy")
    assert len(history.history["wattprint/epoch_energy_kwh"]) == 3
    assert all(v > 0 for v in history.history["wattprint/epoch_co2_kg"])


def test_a_failing_fit_leaves_the_run_to_be_closed(tmp_path: Path) -> None:
    """Keras calls no callback when fit raises: the run stays open (and would be recorded
    as interrupted at exit) until the script closes it, then it is recorded failed."""
    from wattprint.integrations.keras import WattprintCallback

    class Boom(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            raise RuntimeError("diverged")

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = WattprintCallback(project="keras-fail", db=False)
    x = np.zeros((8, 2), dtype="float32")
    with pytest.raises(RuntimeError, match="diverged") as info:
        model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback, Boom()])
    assert callback.tracker.running and callback.tracker.run is None
    callback.close(info.value)
    run = callback.tracker.run
    assert run is not None and run.status == "failed" and "diverged" in (run.error or "")
