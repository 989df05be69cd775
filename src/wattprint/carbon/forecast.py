"""When to run: the start time in the next 24 h with the least CO2 for a job of known energy
and duration, from a live provider's forecast.

The job's energy is spread evenly over its duration; each candidate start (now, and the start
of every forecast bin within 24 h) is priced bin by bin (energy in the bin × its intensity ×
PUE), with the zone's bundled value where the forecast has no bin. The best start and what it
saves against starting now are returned; a provider that fails gives None (a warning), never
an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from wattprint.errors import ProviderError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from wattprint.carbon.providers.base import Bin, Provider

HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class BestStart:
    start: datetime
    co2_kg: float  # starting then
    co2_now_kg: float  # starting now

    @property
    def saving_kg(self) -> float:
        return self.co2_now_kg - self.co2_kg


def co2_if_started(
    start: datetime,
    duration_s: float,
    energy_kwh: float,
    bins: Sequence[Bin],
    static: float,
    pue: float,
) -> float:
    """CO2 of a job of ``energy_kwh`` spread evenly over ``duration_s`` from ``start``, bin by
    bin; time no bin covers takes ``static`` g/kWh."""
    end = start + timedelta(seconds=duration_s)
    covered_s, grams = 0.0, 0.0
    per_s = energy_kwh / duration_s
    for b in bins:
        overlap = (min(end, b.end) - max(start, b.start)).total_seconds()
        if overlap > 0:
            covered_s += overlap
            grams += per_s * overlap * b.intensity_g_per_kwh
    grams += per_s * max(0.0, duration_s - covered_s) * static
    return grams * pue / 1000


def best_start(
    provider: Provider,
    zone: str,
    now: datetime,
    duration_s: float,
    energy_kwh: float,
    static_g_per_kwh: float,
    pue: float,
) -> BestStart | None:
    """The least-CO2 start in ``[now, now + 24 h]`` for the job, or None without a forecast."""
    if not (duration_s > 0 and math.isfinite(duration_s) and energy_kwh >= 0):
        return None
    try:
        bins = [
            b
            for b in provider.forecast(zone, now, now + HORIZON + timedelta(seconds=duration_s))
            if b.signal == "average"
        ]
    except ProviderError:
        return None
    if not bins:
        return None
    candidates = [now, *(b.start for b in bins if now < b.start <= now + HORIZON)]
    priced = [
        (co2_if_started(s, duration_s, energy_kwh, bins, static_g_per_kwh, pue), s)
        for s in candidates
    ]
    co2_now = priced[0][0]
    co2_best, start = min(priced, key=lambda p: (p[0], p[1]))
    return BestStart(start, co2_best, co2_now)
