"""Grid carbon intensity of a zone, from the bundled tables (no location guessing here).

The tables are loaded on first use, never at import, by the registry
(:func:`wattprint.carbon.zones.intensity`), which imports this module for :class:`Intensity`;
this module imports nothing back.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The accounting basis wattprint reports in (the one with the widest coverage: Ember and
#: Electricity Maps, every country and most sub-national zones): lifecycle emissions of
#: generation, location-based. Rows of another basis are kept and flagged, not converted.
DEFAULT_BASIS = "lifecycle"
# (text in a row's source, its basis); first match wins
_BASES = (
    ("Ember", "lifecycle"),
    ("Electricity Maps", "lifecycle"),
    ("Google region-carbon-info", "provider"),  # Google's own location-based grid figure
    ("eGRID", "direct"),  # generation (output) CO2e of combustion at the plant
    ("China MEE", "direct"),  # CO2 of generation only
    ("eco2ai", "unknown"),  # undated, no method given
)
BASIS_NOTES = {
    "direct": "combustion at the plant only (no upstream fuel supply, no imports): not "
    "comparable with lifecycle rows, which run about 10-20 % higher for fossil grids",
    "provider": "the cloud provider's own location-based grid figure, its method not ours",
    "unknown": "undated source that states no method",
}


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

    @property
    def basis(self) -> str:
        """``lifecycle`` (the default basis), ``direct`` (combustion only), ``provider`` (a
        cloud provider's own figure) or ``unknown``, from where the row comes from."""
        for text, basis in _BASES:
            if text in self.source:
                return basis
        return "unknown"

    @property
    def label(self) -> str:
        """How the record names this value's source: the one place it is formatted."""
        return f"{self.source}, {self.year or 'undated'}"
