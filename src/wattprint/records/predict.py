"""Predict a whole training from its first epochs, and judge the prediction at the end.

With ``k`` epochs measured (energies ``e_i``, durations ``d_i``) of ``N`` planned, the rest is
``R = N - k`` epochs like them. Treating epochs as independent draws with the mean ``m`` and
sample deviation ``s`` of those seen, the remaining total is ``R·m`` with variance
``R·s² + R²·s²/k`` (the spread of each future epoch, plus the uncertainty of ``m`` itself), so
the 95 % interval is ``R·m ± 1.96·s·sqrt(R + R²/k)``, added to what was measured so far
(everything since the run started: set-up included). With one epoch there is no spread: the
measurement's own band (the run's ``uncertainty_pct``) stands in for ``s/m``. CO2 and cost
follow energy (static intensity × PUE; a flat tariff).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from wattprint.records.run import Prediction, Window

Z_95 = 1.96


def _interval(
    seen: Sequence[float], remaining: int, so_far: float, fallback_rel: float
) -> tuple[float, float, float]:
    k = len(seen)
    mean = statistics.fmean(seen)
    spread = statistics.stdev(seen) if k > 1 else abs(mean) * fallback_rel
    half = Z_95 * spread * math.sqrt(remaining + remaining**2 / k)
    centre = so_far + remaining * mean
    return centre, max(so_far, centre - half), centre + half


def predict(
    epochs: Sequence[Window],
    planned: int,
    *,
    energy_so_far_kwh: float,
    elapsed_s: float,
    band_pct: float,
    co2_per_kwh: float | None,
    price_per_kwh: float | None,
) -> Prediction:
    """The training's prediction after ``epochs`` (all measured so far, in order).
    ``co2_per_kwh``: kg CO2e per kWh of IT energy (intensity × PUE / 1000); None: no zone."""
    k = len(epochs)
    remaining = max(0, planned - k)
    rel = max(band_pct, 1.0) / 100 / Z_95  # a band is ~95 %: its sigma
    e, e_lo, e_hi = _interval([w.energy_kwh for w in epochs], remaining, energy_so_far_kwh, rel)
    d, d_lo, d_hi = _interval(  # one epoch: a 5 % band (95 %) on its duration
        [w.duration_s for w in epochs], remaining, elapsed_s, 0.05 / Z_95
    )

    def co2(x: float) -> float | None:
        return None if co2_per_kwh is None else x * co2_per_kwh

    return Prediction(
        after_epochs=k,
        epochs_planned=planned,
        energy_kwh=e,
        energy_low_kwh=e_lo,
        energy_high_kwh=e_hi,
        duration_s=d,
        duration_low_s=d_lo,
        duration_high_s=d_hi,
        co2_kg=co2(e),
        co2_low_kg=co2(e_lo),
        co2_high_kg=co2(e_hi),
        cost=None if price_per_kwh is None else e * price_per_kwh,
    )


def judge(prediction: Prediction, energy_kwh: float, duration_s: float, epochs: int) -> Prediction:
    """The prediction with the outcome beside it. Within the interval only counts when the
    training ran the epochs that were planned."""
    inside = (
        prediction.energy_low_kwh <= energy_kwh <= prediction.energy_high_kwh
        if epochs == prediction.epochs_planned
        else None
    )
    return replace(
        prediction,
        outcome_energy_kwh=energy_kwh,
        outcome_duration_s=duration_s,
        outcome_epochs=epochs,
        within_interval=inside,
    )
