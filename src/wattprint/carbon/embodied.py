"""Embodied (manufacturing) carbon of hardware, amortised linearly over a stated lifetime.

This is reported SEPARATELY from operational CO2: it is never added into ``co2_kg``.

``embodied_kg(cls, count, duration_s)`` = ``kgco2e × count × duration / lifetime``. Other
amortisations exist and are not used here: dividing also by a facility utilisation (the BLOOM
paper divides by 85 % usage, which raises the share by 1/0.85), declining-balance schedules,
or charging the whole footprint to the first user. Figures are rough; treat them as orders of
magnitude (see ``uncertainty_pct``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from wattprint.errors import ConfigError

_SECONDS_PER_YEAR: Final = 365.25 * 24 * 3600

_BLOOM: Final = (
    "Luccioni, Viguier & Ligozat, 'Estimating the Carbon Footprint of BLOOM, a 176B Parameter "
    "Language Model', JMLR 24(253), 2023 (arXiv:2211.02001), section 4.1; 6-year replacement "
    "rate from IDRIS"
)


@dataclass(frozen=True)
class EmbodiedFactor:
    """Manufacturing footprint of one unit of a device class."""

    kgco2e: float
    lifetime_years: float
    source: str
    uncertainty_pct: float
    unit: str


@dataclass(frozen=True)
class EmbodiedEstimate:
    """Share of a device class's manufacturing footprint charged to one run."""

    kgco2e: float
    share_of_lifetime: float
    source: str
    uncertainty_pct: float


EMBODIED_FACTORS: Final[Mapping[str, EmbodiedFactor]] = MappingProxyType(
    {
        "gpu": EmbodiedFactor(
            kgco2e=150.0,
            lifetime_years=6.0,
            source=_BLOOM + "; ~150 kgCO2e per NVIDIA A100 card, GPU only",
            uncertainty_pct=50.0,
            unit="accelerator",
        ),
        "server": EmbodiedFactor(
            kgco2e=2500.0,
            lifetime_years=6.0,
            source=_BLOOM + "; ~2,500 kgCO2e per HPE Apollo 6500 Gen10 Plus node, GPUs excluded",
            uncertainty_pct=50.0,
            unit="node (accelerators excluded)",
        ),
    }
)


def embodied_kg(
    device_class: str,
    count: int,
    duration_s: float,
    lifetime_years: float | None = None,
) -> EmbodiedEstimate:
    """Linear amortisation: ``kgco2e × count × duration_s / lifetime``."""
    factor = EMBODIED_FACTORS.get(device_class)
    if factor is None:
        known = ", ".join(sorted(EMBODIED_FACTORS))
        raise ConfigError(f"unknown embodied device class {device_class!r}; use one of: {known}")
    if count < 0:
        raise ConfigError(f"device count must be >= 0, got {count}; pass a count of devices")
    if duration_s < 0:
        raise ConfigError(f"duration must be >= 0 s, got {duration_s}; pass elapsed seconds")
    years = factor.lifetime_years if lifetime_years is None else lifetime_years
    if not years > 0:
        raise ConfigError(f"lifetime must be > 0 years, got {years}; pass e.g. lifetime_years=4")
    share = duration_s / (years * _SECONDS_PER_YEAR)
    return EmbodiedEstimate(
        kgco2e=factor.kgco2e * count * share,
        share_of_lifetime=share,
        source=factor.source,
        uncertainty_pct=factor.uncertainty_pct,
    )
