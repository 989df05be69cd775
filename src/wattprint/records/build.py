"""Measurements -> records: pure functions from a meter's readings to :class:`Run` and
:class:`Window`. No I/O, no clocks, no carbon policy (the carbon fields come in as a dict from
:class:`wattprint.carbon.plan.CarbonPlan`), so every record is built the same way at
start, at each checkpoint and at stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from wattprint.records.run import (
    J_PER_KWH,
    ComponentEnergy,
    LiveView,
    Overhead,
    Prediction,
    Run,
    TimelineData,
    Window,
    combined_uncertainty_pct,
)

if TYPE_CHECKING:
    from wattprint.meter import Meter, Snapshot
    from wattprint.records.windows import WindowBook
    from wattprint.sensors.usage import OwnUse


#: The record's fields that no reading changes, fixed when the run starts (run_id, project,
#: scope, started_at, experiment, tags, command, host, user, git_commit, python_version,
#: wattprint_version): a plain mapping, passed through to :class:`Run`.
RunIdentity = Mapping[str, object]


def sensor_details(sensor: object) -> dict[str, object]:
    """A sensor's details for the record, with its mean utilisation when it tracks one."""
    info = getattr(sensor, "info", None)
    details = dict(getattr(info, "details", {}) or {})
    utilization = getattr(sensor, "mean_utilization_pct", None)
    if isinstance(utilization, float):
        details["mean_utilization_pct"] = round(utilization, 1)
    return details


def components_between(meter: Meter, a: Snapshot, b: Snapshot) -> tuple[ComponentEnergy, ...]:
    """Each live sensor's attributed energy between two readings, with its provenance, band
    and the seconds it could not be read (not counted)."""
    out = []
    for i, sensor in enumerate(meter.sensors):
        if not meter.is_live(i):
            continue
        info = sensor.info
        out.append(
            ComponentEnergy(
                name=str(info.component),
                device=info.device,
                energy_kwh=max(0.0, b.energy_j[i] - a.energy_j[i]) / J_PER_KWH,
                method=info.method,
                provenance=str(info.provenance),
                uncertainty_pct=info.uncertainty_pct,
                gap_s=meter.gap_s(i, a.t_s, b.t_s),
                notes=info.notes,
                details=sensor_details(sensor),
            )
        )
    return tuple(out)


def build_window(
    name: str,
    started_at: str,
    a: Snapshot,
    b: Snapshot,
    components: tuple[ComponentEnergy, ...],
    co2_kg: float | None,
) -> Window:
    energy_kwh = sum(c.energy_kwh for c in components)
    return Window(
        name,
        started_at,
        b.t_s - a.t_s,
        energy_kwh,
        co2_kg,
        combined_uncertainty_pct(components),
        components,
    )


def merge_windows(a: Window, b: Window, name: str) -> Window:
    """One window for two: durations, energies, CO2 and each device's energy summed (a
    merged window is no longer one stretch of time: ``started_at`` is the first's)."""
    comps: dict[tuple[str, str], ComponentEnergy] = {}
    for c in (*a.components, *b.components):
        prev = comps.get((c.name, c.device))
        comps[c.name, c.device] = (
            c
            if prev is None
            else replace(
                prev, energy_kwh=prev.energy_kwh + c.energy_kwh, gap_s=prev.gap_s + c.gap_s
            )
        )
    merged = tuple(comps.values())
    co2 = a.co2_kg + b.co2_kg if a.co2_kg is not None and b.co2_kg is not None else None
    return Window(
        name,
        a.started_at,
        a.duration_s + b.duration_s,
        a.energy_kwh + b.energy_kwh,
        co2,
        combined_uncertainty_pct(merged),
        merged,
        count=a.count + b.count,
        metrics=b.metrics or a.metrics,  # the latest: what the merged windows ended with
        stage=a.stage if a.stage == b.stage else None,
    )


class WindowLog:
    """A run's windows, bounded whatever the program does (a window per step of a long
    training is 10^5-10^6 windows): the first :data:`KEPT` windows as they are; after them
    each further window is merged into one per name (up to :data:`NAMES` names), and the rest
    into one ``(more windows)``. The record stays a few MB and a checkpoint cheap."""

    KEPT = 1000
    NAMES = 100
    OVERFLOW = "(more windows)"

    def __init__(self) -> None:
        self._kept: list[Window] = []
        self._merged: dict[str, Window] = {}
        # The caller's thread adds; the sampler's reads them for a checkpoint.
        self._lock = threading.Lock()

    def add(self, window: Window) -> bool:
        """Keep or merge ``window``; True the first time one is merged (to say so once)."""
        with self._lock:
            if len(self._kept) < self.KEPT:
                self._kept.append(window)
                return False
            first = not self._merged
            name = window.name
            if name not in self._merged and len(self._merged) >= self.NAMES:
                name = self.OVERFLOW
            prev = self._merged.get(name)
            if prev is None:
                self._merged[name] = replace(window, name=name)  # the overflow has its own name
            else:
                self._merged[name] = merge_windows(prev, window, name)
            return first

    def windows(self) -> tuple[Window, ...]:
        with self._lock:
            return (*self._kept, *self._merged.values())


def build_run(
    identity: RunIdentity,
    start: Snapshot,
    end: Snapshot,
    components: tuple[ComponentEnergy, ...],
    carbon: Mapping[str, object],
    *,
    status: str,
    samples: int,
    windows: tuple[Window, ...] = (),
    warnings: tuple[str, ...] = (),
    error: str | None = None,
    exit_code: int | None = None,
    signal: int | None = None,
    ended_at: str | None = None,
    packages: Mapping[str, str] | None = None,
    overhead: Overhead | None = None,
    items: int | None = None,
    epochs: int | None = None,
    prediction: Prediction | None = None,
) -> Run:
    """The record of a run between two readings. ``carbon``: the carbon fields
    (:meth:`CarbonPlan.record_fields`) for the energy of ``components``."""
    return Run(
        duration_s=end.t_s - start.t_s,
        energy_kwh=sum(c.energy_kwh for c in components),
        components=components,
        uncertainty_pct=combined_uncertainty_pct(components),
        exit_code=exit_code,
        error=error,
        windows=windows,
        warnings=warnings,
        samples=samples,
        status=status,
        ended_at=ended_at,
        signal=signal,
        packages=dict(packages or {}),
        overhead=overhead,
        items=items,
        epochs=epochs,
        prediction=prediction,
        **identity,  # type: ignore[arg-type]
        **carbon,  # type: ignore[arg-type]
    )


def record_of(
    identity: RunIdentity,
    meter: Meter,
    start: Snapshot,
    end: Snapshot,
    carbon: Callable[[float], Mapping[str, object]],
    book: WindowBook | None,
    own: OwnUse | None,
    *,
    status: str,
    warnings: tuple[str, ...],
    error: str | None = None,
    exit_code: int | None = None,
    signal: int | None = None,
    ended_at: str | None = None,
) -> Run:
    """A running tracker's record up to the reading ``end``: components from the meter, the
    carbon fields for their energy (``carbon``: :meth:`CarbonPlan.record_fields`), windows,
    epochs, items and the prediction from the window book, wattprint's own use as overhead."""
    from wattprint.records.context import loaded_packages

    comps = components_between(meter, start, end)
    return build_run(
        identity,
        start,
        end,
        comps,
        carbon(sum(c.energy_kwh for c in comps)),
        status=status,
        samples=meter.reads,
        windows=book.windows() if book is not None else (),
        items=(book.items or None) if book is not None else None,
        epochs=(book.epochs_done or None) if book is not None else None,
        prediction=book.prediction if book is not None else None,
        warnings=warnings,
        error=error,
        exit_code=exit_code,
        signal=signal,
        ended_at=ended_at,
        packages=loaded_packages(),
        overhead=(
            Overhead(meter.own_energy_j / J_PER_KWH, own.cpu_s, own.io_b)
            if own is not None
            else None
        ),
    )


def timeline_of(meter: Meter, end: Snapshot | None = None) -> TimelineData:
    """The meter's (thinned) timeline of live sensors, in seconds since its first reading,
    keyed ``"cpu:package-0"``; with ``end``, ending exactly at that reading."""
    live = [i for i in range(len(meter.sensors)) if meter.is_live(i)]
    keys = [f"{meter.sensors[i].info.component}:{meter.sensors[i].info.device}" for i in live]
    tl = meter.timeline
    t0 = tl.t_s[0] if len(tl.t_s) else 0.0
    t_s = tuple(t - t0 for t in tl.t_s)
    energy_j = {key: tuple(tl.energy_j[i]) for i, key in zip(live, keys, strict=True)}
    if end is not None and (not t_s or t_s[-1] < end.t_s - t0):
        t_s = (*t_s, end.t_s - t0)
        energy_j = {
            k: (*v, end.energy_j[i]) for (k, v), i in zip(energy_j.items(), live, strict=True)
        }
    return TimelineData(t_s=t_s, energy_j=energy_j)


def live_view(meter: Meter, start: Snapshot, co2_kg: Callable[[float], float | None]) -> LiveView:
    """A running run from the meter's latest readings (no sensor is read): watts per
    component over the last interval; ``co2_kg`` prices energy (kWh) for the view."""
    last, prev = meter.last, meter.previous
    assert last is not None
    dt_s = last.t_s - prev.t_s if prev is not None else 0.0
    power_w: dict[str, float] = {}
    for i, sensor in enumerate(meter.sensors):
        if not meter.is_live(i):
            continue
        watts = (last.energy_j[i] - prev.energy_j[i]) / dt_s if prev and dt_s > 0 else 0.0
        name = str(sensor.info.component)
        power_w[name] = power_w.get(name, 0.0) + max(0.0, watts)
    energy_kwh = (sum(last.energy_j) - sum(start.energy_j)) / J_PER_KWH
    return LiveView(last.t_s - start.t_s, energy_kwh, power_w, co2_kg(energy_kwh))
