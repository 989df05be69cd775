"""Advice a run earns: GPUs that idled, windows too short for a counter to move."""

from __future__ import annotations

from collections.abc import Sequence

from wattprint.records.run import Window
from wattprint.sensors.base import Sensor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.warn import Warn

#: A GPU busier than this on average is not worth a hint.
IDLE_GPU_PCT = 10.0


def hint_idle_gpus(sensors: Sequence[Sensor], warn: Warn) -> None:
    for sensor in sensors:
        utilization = getattr(sensor, "mean_utilization_pct", None)
        if isinstance(utilization, float) and utilization < IDLE_GPU_PCT:
            warn(
                f"idle:{sensor.info.device}",
                f"{sensor.info.device} ran kernels {utilization:.0f} % of the time: it was idle "
                "for most of the run, so fewer GPUs (or none) would have done the same work for "
                "less energy",
            )


def hint_short_window(window: Window, used: set[str], warn: Warn) -> None:
    """A GPU the run has used (``used``: devices with energy so far) that read 0 J in a window
    shorter than its reading's update period (1 s when unknown) did not stand still: the
    window was too short to see it move."""
    for c in window.components:
        if c.name != "gpu" or c.energy_kwh > 0 or c.device not in used:
            continue
        period_s = c.details.get("update_period_s")
        limit_s = float(period_s) if isinstance(period_s, (int, float)) else 1.0
        if window.duration_s < limit_s:
            warn(
                f"short:{c.device}",
                f"window {window.name!r} lasted {window.duration_s * 1e3:.0f} ms and read 0 J on "
                f"{c.device}: shorter than how often its reading updates; time longer stretches "
                "(e.g. several steps per window)",
            )
