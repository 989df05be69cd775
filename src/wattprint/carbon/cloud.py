"""Cloud regions: ``aws:eu-west-1``, ``gcp:europe-west4``, ``azure:westeurope``.

The table ``wattprint/data/cloud_regions.csv`` (built by ``scripts/build_cloud_regions.py``) maps
each region to the grid zone it draws from (``US-VA`` for AWS ``us-east-1``, a country code
elsewhere) and, for GCP, to Google's own grid figure for the region. It is read on first use,
never at import.

This module only reads the table and says what a row means; it imports no other carbon module
but :mod:`wattprint.carbon.intensity` (for the :class:`Intensity` value). The zone registry,
:mod:`wattprint.carbon.zones`, loads the rows as zones of kind ``cloud`` (with
:attr:`Region.name`, :attr:`Region.parent` and :attr:`Region.aliases`) and asks
:func:`region_intensity` for their intensity, so cloud codes work wherever zones are used.

Spellings accepted (case-insensitive): ``provider:region`` and ``provider/region``, with the
provider's programmatic region name (``azure:westeurope``, not ``West Europe``).

Intensity of a cloud zone: Google's figure for a GCP region
(source ``Google region-carbon-info 2024, Apache-2.0``), else the grid zone's bundled row,
labelled with a note such as ``grid zone US-VA (region us-east-1)``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from wattprint.carbon.intensity import Intensity
from wattprint.errors import ConfigError

CLOUD_FILE = "cloud_regions.csv"
PROVIDERS = ("aws", "gcp", "azure")
PROVIDER_LABEL = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}
GOOGLE_SOURCE = "Google region-carbon-info 2024, Apache-2.0"
EXAMPLE = "'aws:eu-west-1'"


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

    @property
    def name(self) -> str:
        """The region's zone name, e.g. ``AWS eu-west-1 (Ireland)``."""
        return f"{PROVIDER_LABEL[self.provider]} {self.region} ({self.location})"

    @property
    def parent(self) -> str:
        """The country of the grid zone: a grid zone is a country code or an ISO 3166-2 code
        (``US-VA``), so it is the part before the dash."""
        return self.grid_zone.split("-", 1)[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other spellings of :attr:`code` (``aws/eu-west-1``)."""
        return (f"{self.provider}/{self.region}",)


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """Every bundled cloud region by canonical code (``aws:eu-west-1``); read once."""
    from importlib import resources  # deferred: importlib.resources costs ~5 ms to import

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


def region_intensity(r: Region, grid: Callable[[str], Intensity]) -> Intensity:
    """The intensity of a cloud region: Google's figure when the table has one, else the row
    of its grid zone (``grid(r.grid_zone)``, the registry's own lookup) with a note saying so."""
    if r.provider_intensity_g_per_kwh is not None:
        cfe = f"; Google CFE {r.provider_cfe_pct:g}%" if r.provider_cfe_pct is not None else ""
        return Intensity(
            zone=r.code,
            intensity_g_per_kwh=r.provider_intensity_g_per_kwh,
            year=r.year,
            source=GOOGLE_SOURCE,
            licence="Apache-2.0",
            name=r.name,
            note=f"Google's grid figure for region {r.region} (location-based){cfe}",
        )
    row = grid(r.grid_zone)
    note = f"grid zone {r.grid_zone} (region {r.region})"
    return Intensity(
        zone=r.code,
        intensity_g_per_kwh=row.intensity_g_per_kwh,
        year=row.year,
        source=row.source,
        licence=row.licence,
        name=r.name,
        note=f"{note}; {row.note}" if row.note else note,
    )


def _key(text: str) -> str:
    """``text`` as a canonical code, if it spells one: the zone registry's normalisation
    (case, blanks, ``_`` for ``-``), and ``provider/region`` for ``provider:region``."""
    key = re.sub(r"\s+", " ", text.strip().replace("_", "-")).casefold()
    return key.replace("/", ":", 1)


def region(code: str) -> Region:
    """The bundled row of a cloud region code or alias (``AWS/eu-west-1``); else ConfigError,
    with close matches for an unknown region of a known provider."""
    table = regions()
    key = _key(code)
    found = table.get(key)
    if found is not None:
        return found
    provider = key.split(":", 1)[0] if ":" in key else ""
    shown = code if len(code) <= 60 else code[:57] + "..."
    if provider not in PROVIDERS:
        raise ConfigError(
            f"{shown!r} is not a cloud region: give provider:region such as {EXAMPLE} "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.6)
    did = (
        "did you mean " + ", ".join(f"{c} ({table[c].name})" for c in close) + "? " if close else ""
    )
    raise ConfigError(
        f"unknown cloud region {shown!r}: {did}`wattprint zones {provider}:` lists them"
    )


# A provider's published fleet-wide PUE, for its regions that have none of their own:
# (PUE, year, source). Only figures the provider itself published.
PROVIDER_PUE: dict[str, tuple[float, int, str]] = {
    "aws": (
        1.14,
        2025,
        "Amazon Sustainability, 'AWS Cloud' (sustainability.aboutamazon.com): average global "
        "PUE of AWS data centers, 2025 (1.15 in 2024)",
    ),
}

_MS_LOCAL = "https://local.microsoft.com/blog/understanding-energy-use-and-sustainability-"
# Microsoft publishes measured PUE per datacenter site, not per Azure region nor as one fleet
# figure in text (its fleet and geography tables are images, and the figures quoted for them
# differ between reports): the sites whose own page states a measured 12-month average, each
# mapped to the Azure region hosted there. (PUE, year, source). Design targets (1.12 for new
# designs, Sweden's 1.16) are not measurements and are left out.
AZURE_SITE_PUE: dict[str, tuple[float, int, str]] = {
    "azure:northeurope": (
        1.22,
        2021,
        "Microsoft, 'Understanding energy use and sustainability investments at the Ireland "
        f"datacenters' ({_MS_LOCAL}investments-at-the-ireland-datacenters/): 12-month weighted "
        "average PUE for 2021",
    ),
    "azure:westeurope": (
        1.16,
        2022,
        "Microsoft, '... at the Netherlands datacenters' "
        f"({_MS_LOCAL}investments-at-the-netherlands-datacenters/): 12-month weighted average "
        "PUE through February 2022",
    ),
    "azure:westus2": (
        1.16,
        2022,
        "Microsoft, '... at the Quincy datacenters' (Central Washington; "
        f"{_MS_LOCAL}investments-at-the-quincy-datacenters/): 12-month average PUE through "
        "February 2022",
    ),
}


def pue_source(code: str) -> tuple[float, int | None, str] | None:
    """The published PUE that ``pue='cloud'`` uses for this region, with its year (None where
    the table gives none) and source; None when nothing is published for it. Unknown codes
    raise ConfigError (with close matches), as :func:`region` does."""
    r = region(code)
    if r.pue is not None:
        return r.pue, None, r.source
    for published in (AZURE_SITE_PUE.get(r.code), PROVIDER_PUE.get(r.provider)):
        if published is not None:
            return published
    return None


def region_pue(code: str) -> float | None:
    """The region's published PUE when the bundled table has one, else a figure its provider
    published for the site that hosts it (:data:`AZURE_SITE_PUE`) or for its whole fleet
    (:data:`PROVIDER_PUE`), else None.

    Unknown codes raise ConfigError (with close matches), as :func:`region` does.
    """
    found = pue_source(code)
    return found[0] if found is not None else None
