"""Epochs with metrics, stages, item counts and the prediction of the whole training, through
the Tracker, over the CPU model on a fake /proc and a fake clock (energy = known power x time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, FakeProc
from wattprint.errors import ConfigError, TrackerStateError
from wattprint.records.predict import judge, predict
from wattprint.records.run import Run, Window
from wattprint.sensors.discovery import HardwareOptions


def tracker(proc: FakeProc, tmp_path: Path, clock: FakeClock, **kw: object) -> wattprint.Tracker:
    hw = HardwareOptions(
        powercap_dir=tmp_path / "no-powercap",
        proc_dir=proc.root,
        cgroup_root=tmp_path / "no-cgroup",
        storage=False,
    )
    return wattprint.Tracker(  # type: ignore[arg-type]
        hardware=hw, clock=clock, background=False, scope="machine", db=False, **kw
    )


def busy(proc: FakeProc, clock: FakeClock, seconds: float, cpus: float = 1.0) -> None:
    clock.advance(seconds)
    proc.run_for(seconds, busy_cpus=cpus)


def test_epochs_carry_metrics_and_sum_into_the_run(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(fake_proc, tmp_path, clock).start()
    busy(fake_proc, clock, 5.0)  # set-up: not an epoch
    t.start_training(epochs=3)
    for i in range(3):
        busy(fake_proc, clock, 10.0)
        w = t.epoch(loss=1.0 / (i + 1), acc=0.5 + 0.1 * i)
        assert w.name == f"epoch {i + 1}" and w.stage == "train"
        assert w.metrics == {
            "loss": pytest.approx(1.0 / (i + 1)),
            "acc": pytest.approx(0.5 + 0.1 * i),
        }
    t.stop_training()
    run = t.stop()
    epochs = [w for w in run.windows if w.name.startswith("epoch")]
    assert run.epochs == 3 and len(epochs) == 3
    assert all(w.energy_kwh > 0 for w in epochs)
    # The epochs are exactly the run minus the set-up: windows share the run's readings.
    setup_kwh = run.energy_kwh - sum(w.energy_kwh for w in epochs)
    assert setup_kwh == pytest.approx(epochs[0].energy_kwh / 2, rel=1e-9)
    back = Run.from_dict(json.loads(run.to_json()))
    assert back.windows == run.windows and back.epochs == 3


def test_eco2ai_style_calls_and_numbered_epochs(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(fake_proc, tmp_path, clock).start()
    busy(fake_proc, clock, 1.0)
    first = t.new_epoch({"loss": 0.5})  # without start_training: epoch 1 began at start()
    busy(fake_proc, clock, 1.0)
    second = t.epoch(7, loss=0.4)
    run = t.stop()
    assert first.name == "epoch 1" and second.name == "epoch 7"
    assert first.duration_s == pytest.approx(1.0) and second.duration_s == pytest.approx(1.0)
    assert run.epochs == 2


@pytest.mark.parametrize(
    "metrics",
    [{"loss": "abc"}, {"loss": float("nan")}, {"loss": [1]}, {"bad\nname": 1.0}],
)
def test_a_bad_metric_is_a_config_error_and_loses_nothing(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock, metrics: dict[str, object]
) -> None:
    t = tracker(fake_proc, tmp_path, clock).start()
    t.start_training()
    busy(fake_proc, clock, 2.0)
    with pytest.raises(ConfigError):
        t.epoch(**metrics)
    busy(fake_proc, clock, 2.0)
    w = t.epoch(loss=0.1)
    assert w.name == "epoch 1" and w.duration_s == pytest.approx(4.0)  # still the same epoch
    t.stop()


def test_stages_and_counts(fake_proc: FakeProc, tmp_path: Path, clock: FakeClock) -> None:
    t = tracker(fake_proc, tmp_path, clock).start()
    with t.stage("preprocess"):
        busy(fake_proc, clock, 2.0)
    with t.stage("inference"):
        t.begin_window("batch")
        busy(fake_proc, clock, 3.0)
        t.count(64)
        t.end_window("batch")
    run = t.stop()
    names = {w.name: w for w in run.windows}
    assert names["stage:preprocess"].stage == "preprocess"
    assert names["batch"].stage == "inference"  # opened inside the stage
    assert names["stage:inference"].energy_kwh >= names["batch"].energy_kwh > 0
    assert run.items == 64
    with pytest.raises(ConfigError):
        t.start().count(-1)
    with pytest.raises(TrackerStateError):
        t.stop_training()
    t.stop()


def _window(i: int, kwh: float, s: float) -> Window:
    return Window(f"epoch {i}", "2026-01-01T00:00:00.000Z", s, kwh, None, 5.0, ())


def test_prediction_interval_holds_for_epochs_drawn_like_the_first() -> None:
    """Fixture epochs with known energy: 0.010, 0.012, 0.011 kWh seen of 10 planned; the
    remaining seven drawn from the same spread land inside the printed interval."""
    seen = [_window(i + 1, e, 60.0) for i, e in enumerate([0.010, 0.012, 0.011])]
    p = predict(
        seen,
        10,
        energy_so_far_kwh=0.035,
        elapsed_s=190.0,
        band_pct=5.0,
        co2_per_kwh=0.4,
        price_per_kwh=0.3,
    )
    assert p.energy_low_kwh < p.energy_kwh < p.energy_high_kwh
    assert p.energy_kwh == pytest.approx(0.035 + 7 * 0.011)
    assert p.co2_kg == pytest.approx(p.energy_kwh * 0.4) and p.cost == pytest.approx(
        p.energy_kwh * 0.3
    )
    outcome = 0.035 + sum([0.0105, 0.0115, 0.011, 0.012, 0.010, 0.0112, 0.0108])
    judged = judge(p, outcome, 610.0, 10)
    assert judged.within_interval is True and judged.outcome_energy_kwh == outcome
    assert judge(p, 10.0, 610.0, 10).within_interval is False
    assert judge(p, outcome, 610.0, 8).within_interval is None  # fewer epochs than planned


def test_prediction_is_made_after_k_epochs_and_judged_at_stop(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(fake_proc, tmp_path, clock, zone="FR", predict_after=2, progress="on").start()
    t.start_training(epochs=4)
    for _ in range(4):
        busy(fake_proc, clock, 10.0)
        t.epoch(loss=0.1)
    t.stop_training()
    busy(fake_proc, clock, 30.0)  # evaluation after training: not part of the prediction
    run = t.stop()
    p = run.prediction
    assert p is not None and p.after_epochs == 2 and p.epochs_planned == 4
    assert p.outcome_epochs == 4 and p.within_interval is True
    assert p.outcome_energy_kwh == pytest.approx(p.energy_kwh)  # identical epochs: exact
    assert p.co2_kg is not None and p.co2_kg > 0


def test_the_prediction_starts_at_start_training_and_a_second_training_restarts_it(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(fake_proc, tmp_path, clock, zone="FR", tariff="0.30").start()
    busy(fake_proc, clock, 100.0)  # long set-up: not training, so not extrapolated
    t.start_training(epochs=3)
    busy(fake_proc, clock, 10.0)
    first = t.epoch()
    p = t._book.prediction if t._book else None
    assert p is not None and p.after_epochs == 1
    # three epochs like the first, from start_training: set-up is not in it
    assert p.energy_kwh == pytest.approx(3 * first.energy_kwh, rel=1e-9)
    assert p.duration_s == pytest.approx(30.0)
    assert p.cost is not None and p.cost > 0
    t.stop_training()
    t.start_training(epochs=2)  # fine-tuning: its own epochs and prediction
    busy(fake_proc, clock, 5.0)
    second = t.epoch()
    assert second.name == "epoch 2"  # names stay unique across the run
    p2 = t._book.prediction if t._book else None
    assert p2 is not None and p2.epochs_planned == 2
    assert p2.duration_s == pytest.approx(10.0)
    busy(fake_proc, clock, 5.0)
    t.epoch()
    run = t.stop()
    assert run.prediction is not None and run.prediction.outcome_epochs == 2
    assert run.prediction.within_interval is True


def test_a_time_of_use_tariff_predicts_no_cost(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(
        fake_proc, tmp_path, clock, zone="FR", tariff="00:00-07:00=0.15,07:00-24:00=0.30"
    ).start()
    t.start_training(epochs=2)
    busy(fake_proc, clock, 10.0)
    t.epoch()
    p = t._book.prediction if t._book else None
    assert p is not None and p.cost is None and p.co2_kg is not None
    t.stop()


def test_count_takes_integer_likes_and_stages_reach_their_epochs(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    class Index:  # what numpy / torch integer scalars offer
        def __index__(self) -> int:
            return 5

    t = tracker(fake_proc, tmp_path, clock).start()
    with t.stage("finetune"):
        t.start_training()
        busy(fake_proc, clock, 1.0)
        w = t.epoch()
        t.count(Index())  # type: ignore[arg-type]
        t.stop_training()
    with pytest.raises(ConfigError):
        t.count(2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        t.count(True)
    run = t.stop()
    assert w.stage == "finetune" and run.items == 5


def test_a_stage_whose_window_was_ended_inside_does_not_fail_on_exit(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    t = tracker(fake_proc, tmp_path, clock).start()
    with t.stage("eval"):
        busy(fake_proc, clock, 1.0)
        t.end_window("stage:eval")
    run = t.stop()
    assert [w.name for w in run.windows] == ["stage:eval"]
