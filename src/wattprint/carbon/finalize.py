"""A run's carbon accounting at stop, from its plan (:mod:`wattprint.carbon.plan`):

- CO2 = sum over time bins of E_bin x CI_bin x PUE (:func:`wattprint.carbon.accounting.account`):
  hourly bins of the bundled yearly value, or a live provider's bins with the bundled value
  filling the hours it could not give; every bin is listed in the record with its source;
- each window's CO2 from the same bins, over the window's own stretch of the timeline;
- cost with a tariff, per bin at the time the energy was used;
- marginal emissions (WattTime) apart from ``co2_kg``; embodied carbon of the GPUs apart too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from wattprint.carbon.intensity import DEFAULT_BASIS
from wattprint.errors import WattprintError
from wattprint.records.run import Embodied, IntensityBin, Marginal, Run, TimelineData, Window

if TYPE_CHECKING:
    from wattprint.carbon.accounting import Accounting, BinRow
    from wattprint.carbon.plan import CarbonPlan
    from wattprint.warn import Warn


def finalize(
    plan: CarbonPlan, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn
) -> Run:
    """The run with its time-binned CO2, windows' CO2, cost, marginal and embodied carbon.
    A provider that fails costs a warning and the bundled value, never the run."""
    run = replace(run, **plan.record_fields(run.energy_kwh))  # type: ignore[arg-type]
    if plan.intensity is not None and plan.intensity.basis != DEFAULT_BASIS:
        from wattprint.carbon.intensity import BASIS_NOTES

        basis = plan.intensity.basis
        warn(
            "basis",
            f"{plan.intensity.zone}'s intensity is on a {basis} basis, not {DEFAULT_BASIS}: "
            f"{BASIS_NOTES[basis]}",
        )
    if plan.marginal is not None:
        run = replace(run, marginal=_marginal(plan, run, timeline, started_at, warn))
    if plan.intensity is not None or plan.tariff is not None:
        try:
            run = _binned(plan, run, timeline, started_at, warn)
        except WattprintError as exc:
            warn(
                "carbon",
                f"time-binned accounting failed ({exc}); CO2 uses the bundled yearly intensity",
            )
    return with_embodied(run)


def _bins(plan: CarbonPlan, start: datetime, end: datetime, warn: Warn) -> list[object]:
    from wattprint.carbon.accounting import hourly_bins

    i = plan.intensity
    if i is None:  # a tariff without a zone: bins only to price the energy by the hour
        return list(hourly_bins(start, end, 0.0, "none"))
    if plan.provider is None:
        return list(hourly_bins(start, end, i.intensity_g_per_kwh, i.label))
    from wattprint.carbon.providers import intensity_bins

    bins, problem = intensity_bins(
        plan.provider, i.zone, start, end, i.intensity_g_per_kwh, static_source=i.label
    )
    if problem:
        warn("carbon:provider", problem)
    return list(bins)


def _binned(
    plan: CarbonPlan, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn
) -> Run:
    from wattprint.carbon.accounting import account

    end = started_at + timedelta(seconds=max(run.duration_s, 1e-6))
    bins = _bins(plan, started_at, end, warn)
    acc = account(timeline, started_at, bins, plan.pue, uncovered="nearest")  # type: ignore[arg-type]
    cost = None
    if plan.tariff is not None:
        from wattprint.carbon.tariff import cost as priced

        cost = priced(acc.rows, plan.tariff, pue=plan.pue)
    if plan.intensity is None:
        return replace(run, cost=cost)
    windows = tuple(  # a merged window is no one stretch of time: it keeps its sum
        replace(w, co2_kg=_window_co2(w, timeline, started_at, bins, plan.pue))
        if w.count == 1
        else w
        for w in run.windows
    )
    mean = acc.intensity_g_per_kwh
    return replace(
        run,
        co2_kg=acc.co2_kg,
        intensity_g_per_kwh=plan.intensity.intensity_g_per_kwh if mean is None else mean,
        intensity_source=plan.intensity.label
        if plan.provider is None
        else (acc.intensity_source or plan.intensity.label),
        cost=cost,
        intensity_bins=_bin_records(acc),
        windows=windows,
    )


def _marginal(
    plan: CarbonPlan, run: Run, timeline: TimelineData, started_at: datetime, warn: Warn
) -> Marginal | None:
    from wattprint.carbon.accounting import account
    from wattprint.errors import ProviderError

    assert plan.marginal is not None
    provider, region = plan.marginal
    end = started_at + timedelta(seconds=max(run.duration_s, 1e-6))
    try:
        bins = provider.history(region, started_at, end)
        if not bins:
            raise ProviderError(f"no WattTime data for {region}")
        acc = account(timeline, started_at, bins, plan.pue, uncovered="nearest")
    except WattprintError as exc:
        warn("carbon:marginal", f"marginal emissions unavailable: {exc}")
        return None
    return Marginal(
        co2_kg=acc.co2_kg,
        intensity_g_per_kwh=acc.intensity_g_per_kwh,
        region=region,
        source=acc.intensity_source,
        uncovered_kwh=acc.uncovered_kwh,
    )


def _bin_records(acc: Accounting) -> tuple[IntensityBin, ...]:
    def one(r: BinRow) -> IntensityBin:
        return IntensityBin(
            r.start.isoformat(),
            r.end.isoformat(),
            r.energy_kwh,
            r.intensity_g_per_kwh,
            r.source,
            r.kind,
            r.co2_kg,
        )

    return tuple(one(r) for r in acc.rows)


def _window_co2(
    window: Window,
    timeline: TimelineData,
    run_started_at: datetime,
    bins: list[object],
    pue: float,
) -> float | None:
    """A window's CO2 from the run's bins: its energy spread over time as the run's timeline
    shows it between the window's edges (evenly where the timeline shows none)."""
    from wattprint.carbon.accounting import EnergyCurve, account

    w_start = datetime.fromisoformat(window.started_at.replace("Z", "+00:00"))
    a = (w_start - run_started_at).total_seconds()
    b = a + window.duration_s
    energy_j = window.energy_kwh * 3.6e6
    curve = EnergyCurve(timeline)
    inside = [(t, curve.at(t)) for t in timeline.t_s if a < t < b]
    points = [(a, curve.at(a)), *inside, (b, curve.at(b))]
    seen_j = points[-1][1] - points[0][1]
    if seen_j > 0 and window.duration_s > 0:
        scale = energy_j / seen_j
        t_s = tuple(t - a for t, _ in points)
        e_j = tuple((e - points[0][1]) * scale for _, e in points)
    else:
        t_s, e_j = (0.0, max(window.duration_s, 1e-6)), (0.0, energy_j)
    sub = TimelineData(t_s=t_s, energy_j={"window": e_j})
    try:
        return account(sub, w_start, bins, pue, uncovered="nearest").co2_kg  # type: ignore[arg-type]
    except WattprintError:
        return window.co2_kg


def with_embodied(run: Run) -> Run:
    """Add the GPUs' amortised manufacturing footprint (reported apart from co2_kg)."""
    gpus = len({c.device for c in run.components if c.name == "gpu"})
    if not gpus:
        return run
    from wattprint.carbon.embodied import embodied_kg

    est = embodied_kg("gpu", gpus, run.duration_s)
    return replace(
        run,
        embodied_kgco2e=Embodied(
            kgco2e=est.kgco2e,
            devices=gpus,
            device_class="gpu",
            share_of_lifetime=est.share_of_lifetime,
            uncertainty_pct=est.uncertainty_pct,
            source=est.source,
        ),
    )
