"""UK NESO Carbon Intensity API (https://api.carbonintensity.org.uk, no key, CC BY 4.0).

Half-hourly bins. Zones:

- ``GB``: national, ``GET /intensity/{from}/{to}`` -> ``{"data": [{"from", "to",
  "intensity": {"forecast", "actual", "index"}}]}``. ``actual`` is NESO's estimated actual
  (kind ``historical``); when it is null the ``forecast`` value is used (kind ``forecast``).
- ``GB-ENG``, ``GB-SCT``, ``GB-WLS`` (ISO 3166-2 codes of England, Scotland, Wales: NESO region
  ids 15, 16, 17) and ``GB-NESO-1`` .. ``GB-NESO-17`` (the NESO region ids themselves; 1 North
  Scotland, 2 South Scotland, 3 North West England, 4 North East England, 5 South Yorkshire,
  6 North Wales & Merseyside, 7 South Wales, 8 West Midlands, 9 East Midlands, 10 East England,
  11 South West England, 12 South England, 13 London, 14 South East England, 15 England,
  16 Scotland, 17 Wales): ``GET /regional/intensity/{from}/{to}/regionid/{id}`` ->
  ``{"data": {"regionid", "shortname", "data": [{"from", "to", "intensity": {"forecast",
  "index"}, "generationmix"}]}}``. NESO publishes regional *forecasts* only, so these bins are
  kind ``forecast`` (source ``neso:regional``), also for past hours.

Requests are split into windows of at most 13 days (the API allows 14).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wattprint.carbon.providers.base import (
    Bin,
    BinKind,
    HttpProvider,
    chunks,
    floor_hour,
    number,
    overlapping,
    parse_time,
    utc,
)

BASE_URL = "https://api.carbonintensity.org.uk"
MAX_RANGE = timedelta(days=13)
NATIONAL = "GB"
REGIONS: dict[str, int] = {
    **{f"GB-NESO-{i}": i for i in range(1, 18)},
    "GB-ENG": 15,
    "GB-SCT": 16,
    "GB-WLS": 17,
}
ZONES = (NATIONAL, *REGIONS)


def _stamp(when: datetime) -> str:
    return utc(when).strftime("%Y-%m-%dT%H:%MZ")


class NesoProvider(HttpProvider):
    """Great Britain, national and regional; no key needed."""

    name = "neso"

    default_base_url = BASE_URL

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._bins(zone, start, end, prefer_actual=True)

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._bins(zone, start, end, prefer_actual=False)

    def _bins(self, zone: str, start: datetime, end: datetime, prefer_actual: bool) -> list[Bin]:
        code = zone.strip().upper()
        if code != NATIONAL and code not in REGIONS:
            raise self.unsupported(zone, ZONES)
        out: list[Bin] = []
        for lo, hi in chunks(floor_hour(start), end, MAX_RANGE):
            span = f"{_stamp(lo)}/{_stamp(hi)}"
            if code == NATIONAL:
                url = f"{self.base_url}/intensity/{span}"
            else:
                url = f"{self.base_url}/regional/intensity/{span}/regionid/{REGIONS[code]}"
            out.extend(self._parse(url, self.get_json(url), code != NATIONAL, prefer_actual))
        unique = {(b.start, b.end): b for b in out}
        return overlapping(unique.values(), start, end)

    def _parse(self, url: str, data: Any, regional: bool, prefer_actual: bool) -> list[Bin]:
        try:
            rows = data["data"]
            if regional:
                region = rows[0] if isinstance(rows, list) else rows
                rows = region["data"]
            if not isinstance(rows, list):
                raise TypeError("data is not a list")
            bins: list[Bin] = []
            for row in rows:
                start, end = parse_time(row["from"]), parse_time(row["to"])
                intensity = row["intensity"]
                actual = intensity.get("actual") if prefer_actual and not regional else None
                kind: BinKind = "historical"
                if actual is not None:
                    value = number(actual, "actual")
                elif intensity.get("forecast") is not None:
                    value, kind = number(intensity["forecast"], "forecast"), "forecast"
                else:
                    continue  # no value for this half hour: a gap
                if end <= start:
                    raise ValueError("empty period")
                source = "neso:regional" if regional else "neso:national"
                bins.append(Bin(start, end, value, source, kind))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise self.garbage(url, exc) from None
        return bins
