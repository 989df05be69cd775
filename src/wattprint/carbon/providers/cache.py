"""On-disk cache of provider bins, keyed by (provider, zone, kind, UTC hour).

One small JSON file per key under ``<dir>/<provider>/<zone>/<kind>/<YYYYMMDDTHH>.json``, where
``<dir>`` defaults to ``platformdirs.user_cache_dir("wattprint")/intensity``. Expiry, decided
when an entry is read:

- historical hours that had ended more than 2 days before they were fetched: 30 days (grid
  operators stop revising them; the long expiry only bounds disk growth);
- more recent historical hours (and hours the provider had no data for): 1 hour;
- forecasts: 30 minutes.

Writes are atomic (temporary file + :func:`os.replace`). A corrupted or unreadable file is a
miss (and is replaced by the next write): the cache never makes a run fail.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wattprint.carbon.providers.base import (
    Bin,
    BinKind,
    Clock,
    Provider,
    hours,
    iso,
    overlapping,
    parse_time,
    utc,
)

FORMAT_VERSION = 1
SETTLED_AFTER = timedelta(days=2)
SETTLED_TTL = timedelta(days=30)
RECENT_TTL = timedelta(hours=1)
FORECAST_TTL = timedelta(minutes=30)


def default_cache_dir() -> Path:
    import platformdirs  # lazy: keeps `import wattprint` cheap

    return Path(platformdirs.user_cache_dir("wattprint")) / "intensity"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part)[:80] or "_"


@dataclass
class BinCache:
    """Cache of bins per hour. ``directory=None`` uses the platform's user cache directory."""

    directory: Path | None = None
    clock: Clock = _now

    def _root(self) -> Path:
        if self.directory is None:
            self.directory = default_cache_dir()
        return self.directory

    def path(self, provider: str, zone: str, kind: BinKind, hour: datetime) -> Path:
        stamp = utc(hour).strftime("%Y%m%dT%H")
        return self._root() / _safe(provider) / _safe(zone) / kind / f"{stamp}.json"

    def ttl(self, kind: BinKind, hour: datetime, fetched_at: datetime, empty: bool) -> timedelta:
        if kind == "forecast":
            return FORECAST_TTL
        if not empty and utc(hour) + timedelta(hours=1) + SETTLED_AFTER <= fetched_at:
            return SETTLED_TTL
        return RECENT_TTL

    def get(self, provider: str, zone: str, kind: BinKind, hour: datetime) -> list[Bin] | None:
        """The cached bins of that hour (possibly ``[]``: a known gap), or None on a miss."""
        path = self.path(provider, zone, kind, hour)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                return None
            fetched_at = parse_time(data["fetched_at"])
            bins = [Bin.from_dict(item) for item in data["bins"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or corrupted: a miss; the next put() replaces it
        now = utc(self.clock())
        if fetched_at > now or now - fetched_at > self.ttl(kind, hour, fetched_at, not bins):
            return None
        return bins

    def put(
        self, provider: str, zone: str, kind: BinKind, hour: datetime, bins: Sequence[Bin]
    ) -> None:
        """Store the bins of one hour atomically; I/O errors are ignored (cache is optional)."""
        path = self.path(provider, zone, kind, hour)
        payload: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "fetched_at": iso(self.clock()),
            "bins": [b.to_dict() for b in bins],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(payload, handle)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return


class CachedProvider:
    """Wraps a provider: serves hours from a :class:`BinCache`, fetches only missing ones.

    The missing hours are fetched as one range (first missing .. last missing), then every hour
    of that range is stored, including hours without data (a known gap, kept 1 hour).
    """

    def __init__(self, inner: Provider, cache: BinCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._get("historical", zone, start, end)

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return self._get("forecast", zone, start, end)

    def _get(self, kind: BinKind, zone: str, start: datetime, end: datetime) -> list[Bin]:
        wanted = hours(start, end)
        found: dict[datetime, list[Bin]] = {}
        missing: list[datetime] = []
        for hour in wanted:
            bins = self.cache.get(self.name, zone, kind, hour)
            if bins is None:
                missing.append(hour)
            else:
                found[hour] = bins
        if missing:
            lo, hi = missing[0], missing[-1] + timedelta(hours=1)
            fetch = self.inner.history if kind == "historical" else self.inner.forecast
            fresh = fetch(zone, lo, hi)
            for hour in hours(lo, hi):
                in_hour = overlapping(fresh, hour, hour + timedelta(hours=1))
                self.cache.put(self.name, zone, kind, hour, in_hour)
                found[hour] = in_hour
        unique = {(b.start, b.end): b for bins in found.values() for b in bins}
        return overlapping(unique.values(), start, end)
