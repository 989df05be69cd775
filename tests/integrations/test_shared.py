"""What every framework callback shares (integrations/__init__.py): metrics taken as numbers
without ever stopping a training, and an end that is safe to call twice."""

from __future__ import annotations

from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, FakeProc
from wattprint.errors import WattprintWarning
from wattprint.integrations import MAX_METRICS, TrainingTracker, numbers
from wattprint.sensors.discovery import HardwareOptions


class Scalar:  # a tensor's or numpy scalar's .item()
    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


def test_numbers_keeps_scalars_and_leaves_out_what_is_not_one() -> None:
    metrics: dict[object, object] = {"loss": Scalar(0.25), "acc": 1, "name": "resnet"}
    metrics.update({"nan": float("nan"), "bad\nname": 1.0, "": 2.0, 3: 4.0, "vec": [1.0]})
    got = numbers(metrics)  # type: ignore[arg-type]
    assert got == {"loss": 0.25, "acc": 1.0}


def test_numbers_keeps_the_first_64_and_says_so_once() -> None:
    many = {f"m{i}": float(i) for i in range(MAX_METRICS + 10)}
    with pytest.warns(WattprintWarning, match="more than 64 metrics") as caught:
        got = numbers(many)
    assert len(caught) == 1
    assert list(got) == [f"m{i}" for i in range(MAX_METRICS)]


def test_a_callback_with_too_many_metrics_still_records_the_epoch(
    fake_proc: FakeProc, tmp_path: Path, clock: FakeClock
) -> None:
    hw = HardwareOptions(
        powercap_dir=tmp_path / "none", proc_dir=fake_proc.root,
        cgroup_root=tmp_path / "none", storage=False,
    )  # fmt: skip
    tracker = wattprint.Tracker(  # type: ignore[arg-type]
        hardware=hw, clock=clock, background=False, scope="machine", db=False
    )
    shared = TrainingTracker(tracker)
    tracker.start()
    shared.begin(2)
    clock.advance(3.0)
    fake_proc.run_for(3.0, busy_cpus=1.0)
    with pytest.warns(WattprintWarning):
        w = shared.epoch({f"m{i}": 1.0 for i in range(200)})
    assert len(w.metrics) == MAX_METRICS and w.duration_s == pytest.approx(3.0)
    shared.end()
    shared.end()  # on_train_end and on_exception can both arrive: the second does nothing
    assert tracker.running  # a tracker given to the callback is the caller's to stop
    run = tracker.stop()
    assert run.epochs == 1
