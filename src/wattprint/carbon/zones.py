"""Zone registry: codes, aliases and the bundled intensity row of each zone.

Loaded on first use (never at import) from ``wattprint/data/intensity_*.csv``.

Accepted spellings, case-insensitive: ISO 3166-1 alpha-2 (``DE``) and alpha-3 (``DEU``),
English names (``Germany``) and common aliases (``USA``, ``UK``, ``Russia``), ISO 3166-2
codes (``US-CA``, ``RU-MOW``), Electricity Maps zone codes (``SE-SE3``, ``US-CAL-CISO``), and
``world``. Codes win over names; country names win over sub-national names; a sub-national name
shared by two zones is not an alias.

Row choice (:func:`intensity`): countries and ``WORLD`` come from the CC BY 4.0 country table.
For a sub-national zone the order is: a dated non-ODbL row (eGRID, China MEE) -> the Electricity
Maps row (ODbL, separate file) -> an undated eco2ai row. So Electricity Maps is used for the zones
only it has and is preferred over eco2ai's undated values (e.g. ``CA-ON``, ``AU-NSW``).

Cloud regions (``aws:eu-west-1``, ``gcp:europe-west4``, ``azure:westeurope``) are zones too: the
registry loads them itself from :func:`wattprint.carbon.cloud.regions` (after the bundled tables,
so a bundled code keeps its meaning) and prices them with
:func:`wattprint.carbon.cloud.region_intensity`. :mod:`~wattprint.carbon.cloud` never imports
this module: the dependency goes one way.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from wattprint.carbon import cloud
from wattprint.carbon.intensity import Intensity
from wattprint.errors import ConfigError

ZoneKind = Literal["country", "subnational", "cloud", "world"]
UNKNOWN_YEAR = "unknown"
COUNTRY_FILE = "intensity_countries.csv"
SUBNATIONAL_FILE = "intensity_subnational.csv"
ODBL_FILE = "intensity_subnational_odbl.csv"

# Common aliases not derivable from the tables (alias -> canonical code).
COMMON_ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "russia": "RU",
    "russian federation": "RU",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "czech republic": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "ivory coast": "CI",
    "turkiye": "TR",
    "türkiye": "TR",
    "vatican": "VA",
    "burma": "MM",
    "uae": "AE",
    "drc": "CD",
    "global": "WORLD",
    "earth": "WORLD",
    "world average": "WORLD",
}


@dataclass(frozen=True)
class Zone:
    """A place with a grid carbon intensity. ``parent`` is the country code of a sub-zone."""

    code: str
    name: str
    kind: ZoneKind
    parent: str | None = None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().replace("_", "-")).casefold()


def _read(filename: str) -> list[dict[str, str]]:
    from importlib import resources  # deferred: importlib.resources costs ~5 ms to import

    text = (resources.files("wattprint.data") / filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _row_intensity(zone: Zone, row: dict[str, str]) -> Intensity:
    year = None if row["year"] == UNKNOWN_YEAR else int(row["year"])
    return Intensity(
        zone=zone.code,
        intensity_g_per_kwh=float(row["intensity_g_per_kwh"]),
        year=year,
        source=row["source"],
        licence=row["licence"],
        name=zone.name,
        note=row.get("note", ""),
    )


@dataclass(frozen=True)
class _Registry:
    zones: dict[str, Zone]  # canonical code -> zone
    keys: dict[str, str]  # normalised spelling -> canonical code
    rows: dict[str, list[dict[str, str]]]  # code -> candidate rows, preferred first


def _rank(row: dict[str, str]) -> int:
    dated = row["year"] != UNKNOWN_YEAR
    if row["licence"].startswith("ODbL"):
        return 1
    return 0 if dated else 2


@lru_cache(maxsize=1)
def _registry() -> _Registry:
    zones: dict[str, Zone] = {}
    rows: dict[str, list[dict[str, str]]] = {}
    keys: dict[str, str] = {}
    names: dict[str, set[str]] = {}  # sub-national name -> codes (ambiguous names dropped)
    aliases: list[tuple[str, str]] = []  # (alias, code), lower priority than codes
    for r in _read(COUNTRY_FILE):
        code = r["zone"]
        kind: ZoneKind = "world" if code == "WORLD" else "country"
        zones[code] = Zone(code, r["name"], kind)
        rows[code] = [r]
        if r["alpha3"]:
            aliases.append((r["alpha3"], code))
        aliases.append((r["name"], code))
    for r in _read(SUBNATIONAL_FILE) + _read(ODBL_FILE):
        code = r["zone"]
        if code not in zones:
            if r["parent"]:
                name = re.sub(r" \([^()]*\)$", "", r["name"])
                zones[code] = Zone(code, name, "subnational", r["parent"])
                names.setdefault(_norm(name), set()).add(code)
            else:
                zones[code] = Zone(code, r["name"], "country")
                aliases.append((r["name"], code))
        rows.setdefault(code, []).append(r)
    for cands in rows.values():
        cands.sort(key=_rank)
    for code in zones:
        keys[_norm(code)] = code
    for alias, code in aliases:
        keys.setdefault(_norm(alias), code)
    for alias, code in COMMON_ALIASES.items():
        if code in zones:  # an alias of a place the tables lack must not point nowhere
            keys.setdefault(_norm(alias), code)
    for name, codes in names.items():
        if len(codes) == 1:
            keys.setdefault(name, next(iter(codes)))
    for cr in cloud.regions().values():  # aws:..., gcp:..., azure:...
        zones.setdefault(cr.code, Zone(cr.code, cr.name, "cloud", cr.parent))
        keys.setdefault(_norm(cr.code), cr.code)
        for alias in cr.aliases:
            keys.setdefault(_norm(alias), cr.code)
    return _Registry(zones, keys, rows)


def all_zones() -> list[Zone]:
    """Every known zone, sorted by code."""
    reg = _registry()
    return [reg.zones[c] for c in sorted(reg.zones)]


def _closest(text: str, n: int = 3) -> list[Zone]:
    reg = _registry()
    key = _norm(text)
    found = difflib.get_close_matches(key, list(reg.keys), n=n * 3, cutoff=0.6)
    out: list[Zone] = []
    for k in found:
        z = reg.zones[reg.keys[k]]
        if z not in out:
            out.append(z)
    return out[:n]


def lookup_zone(text: str) -> Zone:
    """The zone a code, alias or name stands for. Unknown text raises ConfigError."""
    reg = _registry()
    code = reg.keys.get(_norm(text)) if isinstance(text, str) else None
    if code is not None:
        return reg.zones[code]
    shown = text if len(text) <= 60 else text[:57] + "..."
    close = _closest(text) if isinstance(text, str) and text.strip() else []
    did = "did you mean " + ", ".join(f"{z.code} ({z.name})" for z in close) + "? " if close else ""
    raise ConfigError(
        f"unknown zone {shown!r}: {did}use an ISO 3166 code such as 'DE' or 'US-CA', "
        "a country name, an Electricity Maps zone such as 'SE-SE3', or 'world'"
    )


def search(text: str, limit: int = 20) -> list[Zone]:
    """Zones for ``text``, best first: the zone it names exactly, then that zone's sub-zones and
    cloud regions (``japan``: ``JP``, then every ``JP-*`` and the regions in Japan), then codes
    and names that start with it, then those that contain it. Close spellings only when
    nothing matches (``swedn``), so ``sweden`` does not list Senegal."""
    reg = _registry()
    key = _norm(text)
    if not key:
        return []
    exact = [reg.zones[reg.keys[key]]] if key in reg.keys else []
    children = sorted(
        (z for z in reg.zones.values() if exact and z.parent == exact[0].code),
        key=lambda z: (z.kind == "cloud", z.code),
    )
    prefix = sorted(
        {reg.zones[c] for k, c in reg.keys.items() if k.startswith(key)}, key=lambda z: z.code
    )
    within = sorted({reg.zones[c] for k, c in reg.keys.items() if key in k}, key=lambda z: z.code)
    out: list[Zone] = []
    for z in [*exact, *children, *prefix, *within]:
        if z not in out:
            out.append(z)
    if not out:
        out = _closest(text, n=5)
    return out[:limit]


def intensity(zone: Zone | str) -> Intensity:
    """The bundled intensity of a zone (see the module docstring for which row wins)."""
    z = lookup_zone(zone) if isinstance(zone, str) else zone
    reg = _registry()
    cands = reg.rows.get(z.code)
    if cands:
        return _row_intensity(z, cands[0])
    region = cloud.regions().get(z.code) if z.kind == "cloud" else None
    if region is not None:
        return cloud.region_intensity(region, intensity)
    raise ConfigError(f"no intensity for zone {z.code!r}: use its country code or 'world'")
