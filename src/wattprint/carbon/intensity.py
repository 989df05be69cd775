"""Grid carbon intensity of a zone, from the bundled tables (no location guessing here).

The tables are loaded on first use, never at import, by the registry
(:func:`wattprint.carbon.zones.intensity`), which imports this module for :class:`Intensity`;
this module imports nothing back.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    def label(self) -> str:
        """How the record names this value's source: the one place it is formatted."""
        return f"{self.source}, {self.year or 'undated'}"
