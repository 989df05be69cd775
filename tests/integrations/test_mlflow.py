"""MLflow logging with the real client and a local tracking directory (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
mlflow = pytest.importorskip("mlflow")
np = pytest.importorskip("numpy")


def test_epochs_and_the_run_reach_the_active_mlflow_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wattprint.integrations.keras import WattprintCallback

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a directory store: no server needed
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
    callback = WattprintCallback(project="mlflow", db=False, zone="FR", mlflow=True)
    with mlflow.start_run() as active:
        model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback])
    client = mlflow.tracking.MlflowClient()
    history = client.get_metric_history(active.info.run_id, "wattprint/epoch_energy_kwh")
    assert [m.step for m in history] == [0, 1] and all(m.value > 0 for m in history)
    logged = client.get_run(active.info.run_id).data
    run = callback.tracker.run
    assert run is not None
    assert logged.metrics["wattprint/energy_kwh"] == pytest.approx(run.energy_kwh)
    assert logged.params["wattprint.zone"] == "FR"
    assert logged.tags["wattprint.run_id"] == run.run_id
