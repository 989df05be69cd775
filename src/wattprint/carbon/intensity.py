"""Bundled country intensities (first cut: explicit zones only, no location guessing).

The table is loaded on first use, never at import.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from dataclasses import dataclass
from functools import lru_cache

from wattprint.errors import ConfigError

ENV_ZONE = "WATTPRINT_ZONE"


@dataclass(frozen=True)
class Intensity:
    zone: str
    intensity_g_per_kwh: float
    year: int
    source: str


@lru_cache(maxsize=1)
def _table() -> dict[str, Intensity]:
    from importlib import resources  # deferred: importlib.resources costs ~5 ms to import

    text = (resources.files("wattprint.data") / "country_intensity.csv").read_text()
    return {
        row["zone"]: Intensity(
            row["zone"], float(row["intensity_g_per_kwh"]), int(row["year"]), row["source"]
        )
        for row in csv.DictReader(io.StringIO(text))
    }


def zones() -> list[str]:
    return sorted(_table())


def lookup(zone: str) -> Intensity:
    """Intensity of a zone code (case-insensitive). Unknown codes raise ConfigError."""
    key = zone.strip().upper()
    table = _table()
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, table, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "use an ISO 3166-1 alpha-2 code"
    raise ConfigError(f"unknown zone {zone!r}: {hint} (or 'world' for the world average)")


def zone_from_env() -> str | None:
    value = os.environ.get(ENV_ZONE, "").strip()
    return value or None
