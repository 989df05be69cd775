"""Energi Data Service (Energinet, Denmark; https://api.energidataservice.dk, no key).

Datasets ``CO2Emis`` (history) and ``CO2EmisProg`` (forecast): 5-minute CO2 intensity of
consumption per price area, ``GET /dataset/CO2Emis?start=..&end=..&filter={"PriceArea":["DK1"]}
&sort=Minutes5UTC ASC&timezone=UTC&limit=N`` -> ``{"total", "dataset", "records":
[{"Minutes5UTC", "Minutes5DK", "PriceArea", "CO2Emission"}]}`` with ``CO2Emission`` in g/kWh.
Bins are kept at their native 5 minutes. Zones: ``DK-DK1`` (West Denmark) and ``DK-DK2``
(East Denmark), the Electricity Maps codes; ``DK1``/``DK2`` are accepted too.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from wattprint.carbon.providers.base import (
    Bin,
    BinKind,
    HttpProvider,
    chunks,
    number,
    overlapping,
    parse_time,
    utc,
)

BASE_URL = "https://api.energidataservice.dk"
STEP = timedelta(minutes=5)
MAX_RANGE = timedelta(days=31)
AREAS = {"DK-DK1": "DK1", "DK-DK2": "DK2", "DK1": "DK1", "DK2": "DK2"}
ZONES = ("DK-DK1", "DK-DK2")


class EnergiDataProvider(HttpProvider):
    """Denmark's two price areas, 5-minute resolution; no key needed."""

    name = "energidata"

    default_base_url = BASE_URL

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._bins("CO2Emis", "historical", zone, start, end)

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._bins("CO2EmisProg", "forecast", zone, start, end)

    def _bins(
        self, dataset: str, kind: BinKind, zone: str, start: datetime, end: datetime
    ) -> list[Bin]:
        area = AREAS.get(zone.strip().upper())
        if area is None:
            raise self.unsupported(zone, ZONES)
        out: list[Bin] = []
        for lo, hi in chunks(start, end, MAX_RANGE):
            query = urllib.parse.urlencode(
                {
                    "start": utc(lo).strftime("%Y-%m-%dT%H:%M"),
                    "end": utc(hi + STEP).strftime("%Y-%m-%dT%H:%M"),
                    "filter": json.dumps({"PriceArea": [area]}, separators=(",", ":")),
                    "sort": "Minutes5UTC ASC",
                    "timezone": "UTC",
                    "limit": int((hi - lo) / STEP) + 2 * 12 + 10,
                }
            )
            url = f"{self.base_url}/dataset/{dataset}?{query}"
            out.extend(self._parse(url, self.get_json(url), area, kind, dataset))
        unique = {(b.start, b.end): b for b in out}
        return overlapping(unique.values(), start, end)

    def _parse(self, url: str, data: Any, area: str, kind: BinKind, dataset: str) -> list[Bin]:
        try:
            records = data["records"]
            if not isinstance(records, list):
                raise TypeError("records is not a list")
            bins: list[Bin] = []
            for record in records:
                if record.get("PriceArea", area) != area:
                    continue
                value = record["CO2Emission"]
                if value is None:
                    continue  # a gap
                begin = parse_time(record["Minutes5UTC"])
                source = f"energidataservice:{dataset}"
                bins.append(Bin(begin, begin + STEP, number(value, "CO2Emission"), source, kind))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self.garbage(url, exc) from None
        return bins
