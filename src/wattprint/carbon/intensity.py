"""Grid carbon intensity of a zone, from the bundled tables (no location guessing here).

The tables are loaded on first use, never at import; see :mod:`wattprint.carbon.zones`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_ZONE = "WATTPRINT_ZONE"


@dataclass(frozen=True)
class Intensity:
    """One zone's intensity. ``year`` is None when the source is undated (eco2ai rows)."""

    zone: str
    intensity_g_per_kwh: float
    year: int | None
    source: str
    licence: str = ""
    name: str = ""
    note: str = ""


def zones() -> list[str]:
    """Every known canonical zone code, sorted."""
    from wattprint.carbon import zones as registry

    return [z.code for z in registry.all_zones()]


def lookup(zone: str) -> Intensity:
    """Intensity of a zone code, alias or name (case-insensitive); unknown -> ConfigError."""
    from wattprint.carbon import zones as registry

    return registry.intensity(registry.lookup_zone(zone))


def zone_from_env() -> str | None:
    value = os.environ.get(ENV_ZONE, "").strip()
    return value or None
