"""Cloud regions as zones: ``aws:eu-west-1``, ``gcp:europe-west4``, ``azure:westeurope``.

The table ``wattprint/data/cloud_regions.csv`` (built by ``scripts/build_cloud_regions.py``) maps
each region to the grid zone it draws from (``US-VA`` for AWS ``us-east-1``, a country code
elsewhere) and, for GCP, to Google's own grid figure for the region. It is read on first use,
never at import.

Spellings accepted (case-insensitive): ``provider:region`` and ``provider/region``, with the
provider's programmatic region name (``azure:westeurope``, not ``West Europe``).

Intensity of a cloud zone: Google's figure for a GCP region
(source ``Google region-carbon-info 2024, Apache-2.0``), else the grid zone's bundled row,
labelled with a note such as ``grid zone US-VA (region us-east-1)``.

Registration: :func:`ensure_registered` adds the table to the zone registry with
:func:`wattprint.carbon.zones.register_extension`. It is idempotent and cheap; the registry
builder (``zones._registry``) should call it first, so that cloud codes work wherever zones are
used::

    from wattprint.carbon.cloud import ensure_registered; ensure_registered()
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from wattprint.carbon import zones
from wattprint.carbon.intensity import Intensity
from wattprint.carbon.zones import Zone

EXTENSION = "cloud"
CLOUD_FILE = "cloud_regions.csv"
PROVIDERS = ("aws", "gcp", "azure")
PROVIDER_LABEL = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}
GOOGLE_SOURCE = "Google region-carbon-info 2024, Apache-2.0"


@dataclass(frozen=True)
class Region:
    """One row of ``cloud_regions.csv``."""

    code: str
    provider: str
    region: str
    location: str
    grid_zone: str
    provider_intensity_g_per_kwh: float | None
    provider_cfe_pct: float | None
    year: int | None
    source: str
    licence: str
    pue: float | None


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """Every bundled cloud region by canonical code (``aws:eu-west-1``); read once."""
    from importlib import resources  # deferred, as in zones._read

    text = (resources.files("wattprint.data") / CLOUD_FILE).read_text(encoding="utf-8")
    out: dict[str, Region] = {}
    for r in csv.DictReader(io.StringIO(text)):
        year = r["year"]
        out[r["code"]] = Region(
            code=r["code"],
            provider=r["provider"],
            region=r["region"],
            location=r["location"],
            grid_zone=r["grid_zone"],
            provider_intensity_g_per_kwh=_float(r["provider_intensity_g_per_kwh"]),
            provider_cfe_pct=_float(r["provider_cfe_pct"]),
            year=int(year) if year.isdigit() else None,
            source=r["source"],
            licence=r["licence"],
            pue=_float(r["pue"]),
        )
    return out


def _aliases(r: Region) -> list[str]:
    return [f"{r.provider}/{r.region}"]


def _zones() -> Iterator[tuple[Zone, Sequence[str]]]:
    for r in regions().values():
        # Called while the registry is being built: no lookups here. Grid zones are a country
        # code or an ISO 3166-2 code (``US-VA``), so the country is the part before the dash.
        parent = r.grid_zone.split("-", 1)[0]
        name = f"{PROVIDER_LABEL[r.provider]} {r.region} ({r.location})"
        yield Zone(r.code, name, "cloud", parent), _aliases(r)


def _intensity(zone: Zone) -> Intensity | None:
    r = regions().get(zone.code)
    if r is None:
        return None
    if r.provider_intensity_g_per_kwh is not None:
        cfe = f"; Google CFE {r.provider_cfe_pct:g}%" if r.provider_cfe_pct is not None else ""
        return Intensity(
            zone=zone.code,
            intensity_g_per_kwh=r.provider_intensity_g_per_kwh,
            year=r.year,
            source=GOOGLE_SOURCE,
            licence="Apache-2.0",
            name=zone.name,
            note=f"Google's grid figure for region {r.region} (location-based){cfe}",
        )
    grid = zones.intensity(r.grid_zone)
    note = f"grid zone {r.grid_zone} (region {r.region})"
    return Intensity(
        zone=zone.code,
        intensity_g_per_kwh=grid.intensity_g_per_kwh,
        year=grid.year,
        source=grid.source,
        licence=grid.licence,
        name=zone.name,
        note=f"{note}; {grid.note}" if grid.note else note,
    )


def ensure_registered() -> None:
    """Register the cloud regions with the zone registry (once; later calls do nothing)."""
    if EXTENSION not in zones._EXTENSIONS:
        zones.register_extension(EXTENSION, _zones, _intensity)


def region(code: str) -> Region:
    """The bundled row of a cloud region code or alias (``AWS/eu-west-1``); else ConfigError."""
    ensure_registered()
    z = zones.lookup_zone(code)
    r = regions().get(z.code)
    if r is None:
        from wattprint.errors import ConfigError

        raise ConfigError(f"{code!r} is zone {z.code}, not a cloud region such as 'aws:eu-west-1'")
    return r


def region_pue(code: str) -> float | None:
    """The region's published PUE when the bundled table has one, else None.

    Unknown codes raise ConfigError (with close matches), like any zone lookup.
    """
    return region(code).pue
