"""The same energy in other grid zones, at their bundled annual intensity (``compare``, the
report's "in other zones" table)."""

from __future__ import annotations

from dataclasses import dataclass

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
