"""WattTime API v3 (https://api.watttime.org): **marginal** emissions (``co2_moer``).

MOER is the marginal operating emissions rate: the emissions of the power plants that respond
to a change in load. It is *not* the average intensity of the grid mix that the other providers
and the bundled tables give, so every bin has ``signal="marginal"`` and source
``watttime:co2_moer``: accounting must keep marginal results apart from average ones.

Auth: ``GET /login`` with HTTP basic auth (``username=``/``password=``; for a run: the
watttime_user and watttime_password settings) -> ``{"token"}``, a bearer token valid 30 minutes
(renewed after 25). Data: ``GET /v3/historical?region=..&start=..&end=..&signal_type=co2_moer`` and
``GET /v3/forecast?region=..&signal_type=co2_moer&horizon_hours=..`` -> ``{"data":
[{"point_time", "value"}], "meta": {"data_point_period_seconds", "units", "region",
"signal_type", ...}}``; ``units`` ``lbs_co2_per_mwh`` is converted to g/kWh (x 0.45359237).

Zones: a WattTime region code (``CAISO_NORTH``) or ``"LAT,LON"`` (resolved once per instance
with ``GET /v3/region-from-loc?latitude=..&longitude=..&signal_type=co2_moer`` -> ``{"region"}``).
Historical requests are split into windows of 30 days (the API allows 32).
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

from wattprint.carbon.providers.base import (
    DEFAULT_TIMEOUT_S,
    Bin,
    BinKind,
    Clock,
    HttpProvider,
    Opener,
    chunks,
    number,
    overlapping,
    parse_time,
    utc,
)
from wattprint.errors import ConfigError
from wattprint.settings import env_name

BASE_URL = "https://api.watttime.org"
SIGNAL = "co2_moer"
MAX_RANGE = timedelta(days=30)
TOKEN_LIFETIME = timedelta(minutes=25)
MAX_HORIZON_H = 72
#: g/kWh per unit: 1 lb = 453.59237 g and 1 MWh = 1000 kWh.
UNITS = {"lbs_co2_per_mwh": 0.45359237, "g_co2_per_kwh": 1.0, "kg_co2_per_mwh": 1.0}
_LATLON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class WattTimeProvider(HttpProvider):
    """WattTime marginal (MOER) intensity; needs a WattTime account."""

    name = "watttime"
    hint = (
        f"check {env_name('watttime_user')}/{env_name('watttime_password')} "
        "and the regions your WattTime plan covers"
    )

    default_base_url = BASE_URL

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        clock: Clock = _now,
        opener: Opener | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(base_url=base_url, opener=opener, timeout_s=timeout_s)
        if not username or not password:
            raise ConfigError(
                f"watttime needs an account; set {env_name('watttime_user')} "
                f"and {env_name('watttime_password')}"
            )
        self._user, self._password = username, password
        self.clock = clock
        self._token: str | None = None
        self._token_at: datetime | None = None
        self._regions: dict[str, str] = {}

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"{self._user}:{self._password}".encode()).decode()
        return [s for s in (self._password, basic, self._token or "") if s]

    def _bearer(self) -> dict[str, str]:
        now = utc(self.clock())
        if self._token is None or self._token_at is None or now - self._token_at > TOKEN_LIFETIME:
            basic = base64.b64encode(f"{self._user}:{self._password}".encode()).decode()
            url = f"{self.base_url}/login"
            data = self.get_json(url, {"Authorization": f"Basic {basic}"})
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise self.garbage(url, "no token")
            self._token, self._token_at = token, now
        return {"Authorization": f"Bearer {self._token}"}

    def region(self, zone: str) -> str:
        """The WattTime region of a region code or a ``"LAT,LON"`` string."""
        match = _LATLON.match(zone)
        if match is None:
            return zone.strip()
        if zone not in self._regions:
            query = urllib.parse.urlencode(
                {"latitude": match[1], "longitude": match[2], "signal_type": SIGNAL}
            )
            url = f"{self.base_url}/v3/region-from-loc?{query}"
            data = self.get_json(url, self._bearer())
            region = data.get("region") if isinstance(data, dict) else None
            if not isinstance(region, str) or not region:
                raise self.garbage(url, "no region")
            self._regions[zone] = region
        return self._regions[zone]

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        region = self.region(zone)
        out: list[Bin] = []
        for lo, hi in chunks(start, end, MAX_RANGE):
            query = urllib.parse.urlencode(
                {
                    "region": region,
                    "start": lo.isoformat(),
                    "end": hi.isoformat(),
                    "signal_type": SIGNAL,
                }
            )
            url = f"{self.base_url}/v3/historical?{query}"
            out.extend(self._parse(url, self.get_json(url, self._bearer()), "historical"))
        unique = {(b.start, b.end): b for b in out}
        return overlapping(unique.values(), start, end)

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        region = self.region(zone)
        horizon_h = (utc(end) - utc(self.clock())).total_seconds() / 3600
        if horizon_h <= 0:
            return []
        query = urllib.parse.urlencode(
            {
                "region": region,
                "signal_type": SIGNAL,
                "horizon_hours": min(MAX_HORIZON_H, int(horizon_h) + 1),
            }
        )
        url = f"{self.base_url}/v3/forecast?{query}"
        bins = self._parse(url, self.get_json(url, self._bearer()), "forecast")
        return overlapping(bins, start, end)

    def _parse(self, url: str, data: Any, kind: BinKind) -> list[Bin]:
        try:
            meta = data["meta"]
            factor = UNITS[meta["units"]]
            step = timedelta(seconds=number(meta.get("data_point_period_seconds", 300), "period"))
            if step <= timedelta(0):
                raise ValueError("period must be positive")
            rows = data["data"]
            if not isinstance(rows, list):
                raise TypeError("data is not a list")
            bins: list[Bin] = []
            for row in rows:
                if row["value"] is None:
                    continue  # a gap
                begin = parse_time(row["point_time"])
                value = number(row["value"], "value") * factor
                bins.append(Bin(begin, begin + step, value, f"watttime:{SIGNAL}", kind, "marginal"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self.garbage(url, exc) from None
        return bins
