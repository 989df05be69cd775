"""What a run's energy bought: per epoch, per accuracy point, per item, outside windows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.records.runs_factory import make_run
from wattprint.records.efficiency import efficiency, outside_windows_kwh
from wattprint.records.run import Window


def window(name: str, start_s: float, dur_s: float, kwh: float, **kw: object) -> Window:
    second = f"{int(start_s):02d}.{round((start_s % 1) * 1000):03d}"
    return Window(name, f"2024-03-05T14:00:{second}Z", dur_s, kwh, None, 5.0, (), **kw)  # type: ignore[arg-type]


def test_epochs_accuracy_and_items() -> None:
    epochs = [
        window(
            f"epoch {i + 1}",
            1 + i * 10,
            10,
            0.01,
            stage="train",
            metrics={"loss": 1.0 / (i + 1), "val_accuracy": 0.80 + 0.05 * i},
        )
        for i in range(3)
    ]
    run = replace(make_run("e"), energy_kwh=0.05, windows=tuple(epochs), items=2000, co2_kg=0.02)
    e = efficiency(run)
    assert e.epochs == 3 and e.kwh_per_epoch == pytest.approx(0.01)
    assert e.accuracy_metric == "val_accuracy"
    assert e.accuracy_points_gained == pytest.approx(10.0)  # 0.80 -> 0.90: ten points
    assert e.kwh_per_accuracy_point == pytest.approx(0.03 / 10)
    assert e.kwh_per_1k_items == pytest.approx(0.05 / 2)
    assert e.co2_kg_per_1k_items == pytest.approx(0.02 / 2)
    assert e.outside_windows_kwh == pytest.approx(0.05 - 0.03)


def test_outside_windows_with_nesting_and_overlap() -> None:
    base = make_run("w")
    outer = window("stage:train", 0, 30, 0.03)
    inner = window("batch", 5, 5, 0.01)  # nested: not counted twice
    later = window("eval", 31, 2, 0.002)
    assert outside_windows_kwh(
        replace(base, energy_kwh=0.04, windows=(outer, inner, later))
    ) == pytest.approx(0.04 - 0.032)
    crossing = window("x", 20, 20, 0.01)  # overlaps outer without nesting: no clean split
    assert outside_windows_kwh(replace(base, windows=(outer, crossing))) is None
    merged = replace(later, count=3)
    assert outside_windows_kwh(replace(base, windows=(outer, merged))) is None
    assert outside_windows_kwh(replace(base, energy_kwh=0.5, windows=())) == 0.5


def test_nothing_to_say_without_epochs_or_items() -> None:
    e = efficiency(make_run("plain"))
    assert e.kwh_per_epoch is None and e.kwh_per_item is None
    assert e.kwh_per_accuracy_point is None and e.accuracy_metric is None
