"""The grid's intensity now, from the configured live provider (``intensity_provider``), for
the monitor's CO2: time-resolved like a run's accounting, not one yearly value.

The provider is asked at most every ``refresh_s`` (15 min by default; its bins are half-hourly
or hourly) for the last two hours, and the newest bin that has begun is used. A provider that
fails (network, quota, an unsupported zone) costs one warning and the bundled value until it
answers again, and never a sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from wattprint.carbon.providers.base import Provider
from wattprint.errors import ProviderError

REFRESH_S = 900.0
LOOKBACK = timedelta(hours=2)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Current:
    intensity_g_per_kwh: float
    source: str
    basis: str  # "provider" for a live value, else the bundled row's basis
    live: bool


class LiveIntensity:
    """Used by the sampling thread only (no lock)."""

    def __init__(
        self,
        provider: Provider,
        zone: str,
        bundled: Current,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], datetime] = _utc_now,
        warn: Callable[[str, str], None] = lambda key, message: None,
    ) -> None:
        self.provider, self.zone, self.bundled = provider, zone, bundled
        self.refresh_s, self._clock, self._warn = refresh_s, clock, warn
        self._value = bundled
        self._next: datetime | None = None

    def current(self) -> Current:
        now = self._clock()
        if self._next is None or now >= self._next:
            self._next = now + timedelta(seconds=self.refresh_s)
            self._value = self._fetch(now)
        return self._value

    def _fetch(self, now: datetime) -> Current:
        try:
            bins = self.provider.history(self.zone, now - LOOKBACK, now)
        except ProviderError as exc:
            self._warn(
                "live",
                f"live intensity for {self.zone} unavailable ({exc}); using the bundled "
                f"{self.bundled.intensity_g_per_kwh:g} g/kWh until it answers",
            )
            return self.bundled
        begun = [b for b in bins if b.start <= now and b.signal == "average"]
        if not begun:
            self._warn(
                "live",
                f"{self.provider.name} has no value for {self.zone} in the last two hours; "
                f"using the bundled {self.bundled.intensity_g_per_kwh:g} g/kWh",
            )
            return self.bundled
        newest = max(begun, key=lambda b: b.start)
        return Current(newest.intensity_g_per_kwh, newest.source, "provider", True)
