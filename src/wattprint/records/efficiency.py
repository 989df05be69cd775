"""What a run's energy bought: per item, per epoch, per accuracy point gained, and what was
spent outside its windows. Pure functions of a :class:`Run` (for ``show`` and
``compare-runs``); each answer is None when the record cannot support it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from wattprint.records.context import parse_iso_utc
from wattprint.records.run import Run, Window

#: Metric names read as accuracy, first found wins (Keras, Lightning, HF Trainer spellings).
#: Edges are stored to the millisecond: windows that touch may seem to overlap by that much.
_SLACK = timedelta(milliseconds=5)
ACCURACY_METRICS = ("val_accuracy", "val_acc", "eval_accuracy", "accuracy", "acc", "top1")


@dataclass(frozen=True)
class Efficiency:
    epochs: int
    kwh_per_epoch: float | None
    kwh_per_item: float | None
    kwh_per_1k_items: float | None
    co2_kg_per_1k_items: float | None
    accuracy_metric: str | None
    accuracy_points_gained: float | None  # percentage points, first epoch to last
    kwh_per_accuracy_point: float | None
    outside_windows_kwh: float | None  # the run's energy in none of its (top-level) windows


def _span(w: Window) -> tuple[datetime, datetime]:
    start = parse_iso_utc(w.started_at)
    return start, start + timedelta(seconds=w.duration_s)


def outside_windows_kwh(run: Run) -> float | None:
    """Run energy minus its top-level windows' (those inside no other), when those do not
    overlap each other; None when they do, or a window was merged (no single span)."""
    windows = [w for w in run.windows if w.count == 1]
    if not windows or len(windows) != len(run.windows):
        return None if run.windows else run.energy_kwh
    spans = sorted((_span(w), w) for w in windows)
    top: list[tuple[tuple[datetime, datetime], Window]] = []
    for span, w in spans:
        if top and span[0] >= top[-1][0][0] and span[1] <= top[-1][0][1] + _SLACK:
            continue  # nested in the previous top-level window
        if top and span[0] < top[-1][0][1] - _SLACK:
            return None  # overlaps without nesting: no clean split
        top.append((span, w))
    return max(0.0, run.energy_kwh - math.fsum(w.energy_kwh for _, w in top))


def _accuracy(epochs: list[Window]) -> tuple[str | None, float | None]:
    for name in ACCURACY_METRICS:
        values = [w.metrics[name] for w in epochs if name in w.metrics]
        if len(values) >= 2:
            scale = 100.0 if max(abs(v) for v in values) <= 1.0 else 1.0  # fraction or percent
            return name, (values[-1] - values[0]) * scale
    return None, None


def efficiency(run: Run) -> Efficiency:
    epochs = [w for w in run.windows if w.stage == "train" and w.name.startswith("epoch")]
    train_kwh = math.fsum(w.energy_kwh for w in epochs)
    items = run.items or 0
    metric, gained = _accuracy(epochs)
    per_item = run.energy_kwh / items if items else None
    co2_1k = run.co2_kg / items * 1000 if items and run.co2_kg is not None else None
    return Efficiency(
        epochs=len(epochs),
        kwh_per_epoch=train_kwh / len(epochs) if epochs else None,
        kwh_per_item=per_item,
        kwh_per_1k_items=per_item * 1000 if per_item is not None else None,
        co2_kg_per_1k_items=co2_1k,
        accuracy_metric=metric,
        accuracy_points_gained=gained,
        kwh_per_accuracy_point=train_kwh / gained if gained and gained > 0 else None,
        outside_windows_kwh=outside_windows_kwh(run),
    )


def final_accuracy(run: Run, e: Efficiency) -> float | None:
    """The last value of the run's accuracy metric (``e.accuracy_metric``), if it has one."""
    if not e.accuracy_metric:
        return None
    return next(
        (
            w.metrics[e.accuracy_metric]
            for w in reversed(run.windows)
            if e.accuracy_metric in w.metrics
        ),
        None,
    )
