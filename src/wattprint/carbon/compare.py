"""The same energy in other grid zones, at their bundled annual intensity (``compare``, the
report's "in other zones" table), and at other hours of its day (a provider's history)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.carbon.providers.base import Provider

# What the report compares with when no zones are given: low to high intensity, big grids.
DEFAULT_ZONES = ("NO", "SE", "FR", "GB", "DE", "US", "PL", "IN")


@dataclass(frozen=True)
class ZoneCO2:
    zone: str
    name: str
    intensity_g_per_kwh: float
    year: int | None
    source: str
    co2_kg: float  # energy x PUE x intensity


def in_zones(energy_kwh: float, pue: float, names: list[str] | tuple[str, ...]) -> list[ZoneCO2]:
    """``energy_kwh`` at ``pue`` in each zone (unknown names raise ConfigError), lowest CO2
    first; a zone named twice is listed once."""
    from wattprint.carbon import zones

    rows: dict[str, ZoneCO2] = {}
    for name in names:
        zone = zones.lookup_zone(name)
        value = zones.intensity(zone)
        rows[zone.code] = ZoneCO2(
            zone.code,
            zone.name,
            value.intensity_g_per_kwh,
            value.year,
            value.source,
            energy_kwh * pue * value.intensity_g_per_kwh / 1000,
        )
    return sorted(rows.values(), key=lambda r: r.co2_kg)


@dataclass(frozen=True)
class HourCO2:
    start: str  # ISO 8601 UTC, on the hour
    co2_kg: float
    covered: bool  # every second of it had a provider bin (else the zone's annual value)


def at_hours(
    provider: Provider,
    zone: str,
    started_at: datetime,
    duration_s: float,
    energy_kwh: float,
    static_g_per_kwh: float,
    pue: float,
) -> list[HourCO2]:
    """The same run started at each hour of the UTC day it started, priced with the
    provider's history (``[]`` when the provider has none; ProviderError passes through)."""
    from datetime import timedelta

    from wattprint.carbon.forecast import co2_if_started

    if not (duration_s > 0 and math.isfinite(duration_s)):
        return []
    day = started_at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    end = day + timedelta(days=1, seconds=duration_s)
    bins = [b for b in provider.history(zone, day, end) if b.signal == "average"]
    if not bins:
        return []
    out = []
    for h in range(24):
        start = day + timedelta(hours=h)
        stop = start + timedelta(seconds=duration_s)
        covered_s = sum(
            max(0.0, (min(stop, b.end) - max(start, b.start)).total_seconds()) for b in bins
        )
        out.append(
            HourCO2(
                start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                co2_if_started(start, duration_s, energy_kwh, bins, static_g_per_kwh, pue),
                covered_s >= duration_s - 1e-6,
            )
        )
    return out
