"""What a Tracker does at each epoch: predict the whole training once enough epochs are
measured, and print one line per epoch where the user sees it (``progress`` setting), e.g.::

    wattprint: epoch 3/10  1.21 Wh  45.2 W  0.4 g CO2e  loss 0.31 acc 0.92
               -> whole training 4.0 Wh (3.8-4.3), 1.3 g CO2e, 1 min 20 s
"""

from __future__ import annotations

import sys

from wattprint.cli.format import duration, energy, mass, text
from wattprint.records.predict import judge, predict
from wattprint.records.run import J_PER_KWH, Prediction, Window

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.carbon.plan import CarbonPlan
    from wattprint.records.windows import WindowBook
    from wattprint.settings import Settings


def _so_far(book: WindowBook) -> tuple[float, float]:
    """Energy (kWh) and seconds from the training's start to the end of its last epoch."""
    start, end = book.training_start, book.training_end
    assert start is not None and end is not None
    return (sum(end.energy_j) - sum(start.energy_j)) / J_PER_KWH, end.t_s - start.t_s


def after_epoch(settings: Settings, plan: CarbonPlan, book: WindowBook, window: Window) -> None:
    """Predict the training when due (``book.prediction``), then print the epoch's line."""
    planned, prediction = book.epochs_planned, book.prediction
    if prediction is None and planned and book.training_epochs >= settings.predict_after:
        energy_kwh, elapsed_s = _so_far(book)
        intensity = plan.intensity
        tariff = plan.tariff
        prediction = predict(
            book.epoch_windows,
            planned,
            energy_so_far_kwh=energy_kwh,
            elapsed_s=elapsed_s,
            band_pct=window.uncertainty_pct,
            co2_per_kwh=intensity.intensity_g_per_kwh * plan.pue / 1000 if intensity else None,
            price_per_kwh=_price(tariff, plan.pue),
        )
    if prediction is not None and book.prediction is None:
        prediction = _with_best_start(plan, prediction)
    book.prediction = prediction
    mode = settings.progress
    if mode == "on" or (mode == "auto" and sys.stderr.isatty()):
        print(epoch_line(window, book.training_epochs, planned, prediction), file=sys.stderr)


def _with_best_start(plan: CarbonPlan, prediction: Prediction) -> Prediction:
    """The prediction with the least-CO2 start of a run like it in the next 24 h, when a live
    provider has a forecast for the zone."""
    if plan.provider is None or plan.intensity is None:
        return prediction
    from dataclasses import replace
    from datetime import datetime, timezone

    from wattprint.carbon.forecast import best_start
    from wattprint.records.context import iso_utc

    best = best_start(
        plan.provider,
        plan.intensity.zone,
        datetime.now(timezone.utc),
        prediction.duration_s,
        prediction.energy_kwh,
        plan.intensity.intensity_g_per_kwh,
        plan.pue,
    )
    if best is None:
        return prediction
    return replace(
        prediction,
        best_start_at=iso_utc(best.start),
        best_start_co2_kg=best.co2_kg,
        co2_if_started_now_kg=best.co2_now_kg,
    )


def _price(tariff: object, pue: float) -> float | None:
    price = _flat_price(tariff) if tariff is not None else None
    return price * pue if price is not None else None


def _flat_price(tariff: object) -> float | None:
    """A flat tariff's price (a time-of-use one has no single price for a prediction)."""
    if not getattr(tariff, "flat", False):
        return None
    from datetime import datetime, timezone

    return float(tariff.price_at(datetime.now(timezone.utc)))  # type: ignore[attr-defined]


def at_stop(book: WindowBook | None, prediction: Prediction | None) -> Prediction | None:
    """The prediction judged against what the training used (up to its last epoch)."""
    if prediction is None or book is None or book.training_end is None:
        return prediction
    energy_kwh, elapsed_s = _so_far(book)
    return judge(prediction, energy_kwh, elapsed_s, book.training_epochs)


def epoch_line(
    window: Window, done: int, planned: int | None, prediction: Prediction | None
) -> str:
    of = f"/{planned}" if planned else ""
    watts = window.energy_kwh * J_PER_KWH / window.duration_s if window.duration_s > 0 else 0.0
    line = f"wattprint: {text(window.name)}{of}  {energy(window.energy_kwh)}  {watts:.3g} W" + (
        f"  {mass(window.co2_kg)} CO2e" if window.co2_kg is not None else ""
    )
    if window.metrics:
        line += "  " + " ".join(f"{text(k)} {v:.4g}" for k, v in window.metrics.items())
    if prediction is not None and done > prediction.after_epochs:
        line += f"  | predicted {energy(prediction.energy_kwh)}"
    if prediction is not None and done == prediction.after_epochs:
        p = prediction
        line += (
            f"\n           -> whole training {energy(p.energy_kwh)} "
            f"({energy(p.energy_low_kwh)}-{energy(p.energy_high_kwh)})"
            + (f", {mass(p.co2_kg)} CO2e" if p.co2_kg is not None else "")
            + f", {duration(p.duration_s)}"
        )
        if p.best_start_at is not None and p.best_start_co2_kg is not None:
            saved = (p.co2_if_started_now_kg or 0.0) - p.best_start_co2_kg
            line += f"; least CO2 starting {p.best_start_at[:16]}Z (saves {mass(saved)})"
    return line
