"""Electricity Maps API v3 (https://api.electricitymaps.com/v3), token in the ``auth-token``
header. The token is passed as ``token=`` (for a run: the electricitymaps_token setting).

- history: ``GET /carbon-intensity/past-range?zone=DE&start=..&end=..`` (hourly, at most
  10 days per request) -> ``{"zone", "data": [{"zone", "carbonIntensity", "datetime",
  "updatedAt", "createdAt", "emissionFactorType", "isEstimated", "estimationMethod"}]}``;
- forecast: ``GET /carbon-intensity/forecast?zone=DE`` -> ``{"zone", "forecast":
  [{"carbonIntensity", "datetime"}], "updatedAt"}``.

Zones are Electricity Maps zone codes (``DE``, ``US-CAL-CISO``, ``DK-DK1``...). Values are
lifecycle, average (consumption-based) intensities; a bin Electricity Maps marks
``isEstimated`` has source ``electricitymaps:estimated``. Which zones and how much history a
token may read depends on its plan: a 401/403 degrades to the static table with one warning.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from wattprint.carbon.providers.base import (
    DEFAULT_TIMEOUT_S,
    Bin,
    BinKind,
    HttpProvider,
    Opener,
    chunks,
    floor_hour,
    number,
    overlapping,
    parse_time,
)
from wattprint.errors import ConfigError
from wattprint.settings import env_name

BASE_URL = "https://api.electricitymaps.com/v3"
MAX_RANGE = timedelta(days=10)
STEP = timedelta(hours=1)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class ElectricityMapsProvider(HttpProvider):
    """Electricity Maps zones, hourly; needs a token."""

    name = "electricitymaps"
    hint = f"check {env_name('electricitymaps_token')} and the zones your plan covers"

    default_base_url = BASE_URL

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        opener: Opener | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(base_url=base_url, opener=opener, timeout_s=timeout_s)
        if token is None or not token.strip():
            raise ConfigError(
                f"electricitymaps needs an API token; set {env_name('electricitymaps_token')} "
                "(or choose the 'neso' or 'energidata' provider, which need none)"
            )
        self._token = token.strip()

    def secrets(self) -> list[str]:
        return [self._token]

    def _headers(self) -> dict[str, str]:
        return {"auth-token": self._token}

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        out: list[Bin] = []
        for lo, hi in chunks(floor_hour(start), end, MAX_RANGE):
            query = urllib.parse.urlencode({"zone": zone, "start": _stamp(lo), "end": _stamp(hi)})
            url = f"{self.base_url}/carbon-intensity/past-range?{query}"
            out.extend(self._parse(url, self.get_json(url, self._headers()), "data", "historical"))
        unique = {(b.start, b.end): b for b in out}
        return overlapping(unique.values(), start, end)

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        query = urllib.parse.urlencode({"zone": zone})
        url = f"{self.base_url}/carbon-intensity/forecast?{query}"
        bins = self._parse(url, self.get_json(url, self._headers()), "forecast", "forecast")
        return overlapping(bins, start, end)

    def _parse(self, url: str, data: Any, key: str, kind: BinKind) -> list[Bin]:
        try:
            rows = data[key]
            if not isinstance(rows, list):
                raise TypeError(f"{key} is not a list")
            bins: list[Bin] = []
            for row in rows:
                value = row["carbonIntensity"]
                if value is None:
                    continue  # no value for this hour: a gap
                begin = parse_time(row["datetime"])
                estimated = row.get("isEstimated") is True
                source = "electricitymaps:estimated" if estimated else "electricitymaps"
                value = number(value, "carbonIntensity")
                bins.append(Bin(begin, begin + STEP, value, source, kind))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self.garbage(url, exc) from None
        return bins
