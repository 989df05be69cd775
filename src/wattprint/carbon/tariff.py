"""Electricity prices: a flat price or a time-of-use tariff, and the cost of binned energy.

Spec strings (prices per kWh, in whatever currency the user thinks in):

- ``"0.30"`` — flat;
- ``"00:00-07:00=0.15,07:00-23:00=0.30,23:00-24:00=0.15"`` — time of use; periods may be in
  any order, may wrap midnight (``"23:00-07:00=0.15"``), and must cover the day exactly once;
  ``24:00`` (or ``00:00``) may end a period;
- ``"weekday:00:00-07:00=0.15,07:00-24:00=0.30;weekend:0.15"`` — separate Monday-Friday and
  Saturday-Sunday days, each flat or time of use.

Clock times are local to the tariff's time zone (``tz``: an IANA name or tzinfo; UTC when not
given); daylight-saving changes are honoured. Anything else is a ConfigError with a one-line
message naming the bad part. Nothing here evaluates user text.
Eco2AI-style mappings (``{"8:30-19:00": 0.1, "19:00-8:30": 0.05}``) are accepted too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

from wattprint.carbon.accounting import require_aware, validate_pue
from wattprint.errors import ConfigError

DAY_MIN = 24 * 60
_PRICE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_LABEL = re.compile(r"\s*(weekdays?|weekends?)\s*:(.*)", re.ASCII | re.IGNORECASE | re.DOTALL)
_HINT = "write e.g. '00:00-07:00=0.15,07:00-24:00=0.30' (price per kWh) or a flat '0.30'"


@dataclass(frozen=True)
class Period:
    """``[start_min, end_min)`` minutes after local midnight at one price per kWh."""

    start_min: int
    end_min: int
    price_per_kwh: float


@dataclass(frozen=True)
class Tariff:
    """Prices over a local day; ``weekday`` for Monday-Friday, ``weekend`` for the rest. Each
    is sorted and covers ``[0, 1440)`` minutes exactly (see :func:`parse_tariff`)."""

    weekday: tuple[Period, ...]
    weekend: tuple[Period, ...]
    tz: tzinfo = timezone.utc

    @property
    def flat(self) -> bool:
        return len({p.price_per_kwh for p in (*self.weekday, *self.weekend)}) == 1

    def price_at(self, when: datetime) -> float:
        """Price per kWh at an aware instant."""
        local = require_aware(when, "when").astimezone(self.tz)
        periods = self.weekend if local.weekday() >= 5 else self.weekday
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        for p in periods:
            if minute < p.end_min:
                return p.price_per_kwh
        return periods[-1].price_per_kwh

    def to_spec(self) -> str:
        """A spec string that :func:`parse_tariff` reads back to this tariff (with ``tz``)."""

        def day(periods: tuple[Period, ...]) -> str:
            if len(periods) == 1:
                return repr(periods[0].price_per_kwh)
            return ",".join(
                f"{_clock(p.start_min)}-{_clock(p.end_min)}={p.price_per_kwh!r}" for p in periods
            )

        if self.weekday == self.weekend:
            return day(self.weekday)
        return f"weekday:{day(self.weekday)};weekend:{day(self.weekend)}"

    def change_points(self, start: datetime, end: datetime) -> list[datetime]:
        """Instants strictly inside ``(start, end)`` where the price may change (UTC; sorted).
        Includes every local period boundary and midnight, and the zone's offset changes."""
        if self.flat or end <= start:
            return []
        minutes = sorted({0} | {p.start_min for p in (*self.weekday, *self.weekend)})
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        found = set(_offset_changes(self.tz, start, end))
        day: date = first
        while day <= last:
            midnight = datetime.combine(day, time())
            for m in minutes:
                local = midnight + timedelta(minutes=m)
                for fold in (0, 1):  # both instants of a repeated (DST fall-back) local time
                    utc = local.replace(tzinfo=self.tz, fold=fold).astimezone(timezone.utc)
                    if start < utc < end:
                        found.add(utc)
            day += timedelta(days=1)
        return sorted(found)


def _offset_changes(tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """Instants in ``(start, end)`` where ``tz``'s UTC offset changes (to the second)."""
    if isinstance(tz, timezone):
        return []

    def offset(ts: float) -> timedelta | None:
        return datetime.fromtimestamp(ts, timezone.utc).astimezone(tz).utcoffset()

    out = []
    a, stop = math.floor(start.timestamp()), math.ceil(end.timestamp())
    step = 3 * 3600  # offsets never change twice within three hours
    while a < stop:
        b = min(a + step, stop)
        if offset(a) != offset(b):
            lo, hi = a, b
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            when = datetime.fromtimestamp(hi, timezone.utc)
            if start < when < end:
                out.append(when)
        a = b
    return out


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _short(text: str) -> str:
    r = repr(text)
    return r if len(r) <= 60 else r[:57] + "..."


def _bad(spec: str, problem: str) -> ConfigError:
    return ConfigError(f"bad tariff {_short(spec)}: {problem}; {_HINT}")


def _price(text: str, spec: str) -> float:
    s = text.strip()
    if s.startswith("-") and _PRICE.fullmatch(s[1:].strip()):
        raise _bad(spec, f"negative price {_short(s)}")
    if not _PRICE.fullmatch(s):
        raise _bad(spec, f"bad price {_short(s)} (want a number like 0.30)")
    value = float(s)
    if not math.isfinite(value):
        raise _bad(spec, f"price {_short(s)} is too large")
    return value


def _minute(text: str, spec: str, *, end: bool) -> int:
    s = text.strip()
    m = _TIME.fullmatch(s)
    if not m:
        raise _bad(spec, f"bad time {_short(s)} (want HH:MM)")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise _bad(spec, f"bad time {_short(s)} (00:00 to 24:00)")
    if hours == 24 and not end:
        raise _bad(spec, f"24:00 can only end a period, in {_short(s)}")
    return hours * 60 + minutes


def _day(body: str, spec: str) -> tuple[Period, ...]:
    """One day's periods from ``"0.30"`` or ``"HH:MM-HH:MM=P,..."``, checked to cover it."""
    if not body.strip():
        raise _bad(spec, "empty price list")
    if "=" not in body and ":" not in body:
        return (Period(0, DAY_MIN, _price(body, spec)),)
    pieces: list[tuple[Period, str]] = []
    for item in body.split(","):
        span, eq, price_text = item.partition("=")
        times = span.split("-")
        if not eq or len(times) != 2:
            raise _bad(spec, f"bad period {_short(item.strip())} (want HH:MM-HH:MM=price)")
        price = _price(price_text, spec)
        lo = _minute(times[0], spec, end=False)
        hi = _minute(times[1], spec, end=True) or DAY_MIN  # "23:00-00:00" ends at midnight
        label = item.strip()
        if hi == lo:
            raise _bad(spec, f"empty period {_short(label)}")
        if hi > lo:
            pieces.append((Period(lo, hi, price), label))
        else:  # wraps midnight
            pieces.append((Period(lo, DAY_MIN, price), label))
            pieces.append((Period(0, hi, price), label))
    pieces.sort(key=lambda p: p[0].start_min)
    if pieces[0][0].start_min != 0:
        raise _bad(spec, f"no price for 00:00-{_clock(pieces[0][0].start_min)}")
    for (a, label_a), (b, label_b) in pairwise(pieces):
        if b.start_min < a.end_min:
            raise _bad(spec, f"periods {_short(label_a)} and {_short(label_b)} overlap")
        if b.start_min > a.end_min:
            raise _bad(spec, f"no price for {_clock(a.end_min)}-{_clock(b.start_min)}")
    if pieces[-1][0].end_min != DAY_MIN:
        raise _bad(spec, f"no price for {_clock(pieces[-1][0].end_min)}-24:00")
    return tuple(p for p, _ in pieces)


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return timezone.utc
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise ConfigError(f"tariff time zone must be a name like 'Europe/Berlin', got {tz!r}")
    if tz.strip().upper() in ("UTC", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(tz.strip())
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(
            f"unknown time zone {_short(tz)} for the tariff; use an IANA name like "
            "'Europe/Berlin' (install tzdata if none are found)"
        ) from None


def parse_tariff(spec: str | Mapping[str, float], tz: str | tzinfo | None = None) -> Tariff:
    """A :class:`Tariff` from a spec string (see the module docs) or an Eco2AI-style mapping
    of ``"HH:MM-HH:MM"`` to price. ``tz`` is the zone of the clock times (UTC if None)."""
    if isinstance(spec, Mapping):
        spec = ",".join(f"{k}={v}" for k, v in spec.items())
    if not isinstance(spec, str):
        raise ConfigError(f"a tariff is a string like '0.30', got {type(spec).__name__}")
    zone = _zone(tz)
    if not spec.strip():
        raise _bad(spec, "it is empty")
    parts = spec.split(";")
    if len(parts) == 1 and not _LABEL.fullmatch(parts[0]):
        day = _day(parts[0], spec)
        return Tariff(day, day, zone)
    days: dict[str, tuple[Period, ...]] = {}
    for part in parts:
        m = _LABEL.fullmatch(part)
        if not m:
            raise _bad(spec, f"part {_short(part.strip())} needs a 'weekday:' or 'weekend:' label")
        key = "weekend" if m.group(1).lower().startswith("weekend") else "weekday"
        if key in days:
            raise _bad(spec, f"'{key}:' given twice")
        days[key] = _day(m.group(2), spec)
    for key in ("weekday", "weekend"):
        if key not in days:
            raise _bad(spec, f"no '{key}:' part")
    return Tariff(days["weekday"], days["weekend"], zone)


class _Row(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def energy_kwh(self) -> float: ...


Row = _Row | tuple[datetime, datetime, float]


def cost(rows: Iterable[Row], tariff: Tariff, *, pue: float = 1.0) -> float:
    """The price of binned energy: each row's ``energy_kwh`` (spread uniformly over
    ``[start, end]``) is cut at the tariff's boundaries and priced piece by piece.

    Rows are :class:`~wattprint.carbon.accounting.BinRow` (``accounting.rows``) or
    ``(start, end, energy_kwh)`` tuples. Their energy is IT energy, so pass
    ``pue=accounting.pue`` to bill the facility's energy (1.0: bill IT energy as is).
    """
    factor = validate_pue(pue)
    parts: list[float] = []
    for i, row in enumerate(rows):
        if isinstance(row, tuple):
            if len(row) != 3:
                raise ConfigError(f"cost row {i} must be (start, end, energy_kwh), got {row!r}")
            start, end, energy_kwh = row
        else:
            start, end, energy_kwh = row.start, row.end, row.energy_kwh
        require_aware(start, f"cost row {i} start")
        require_aware(end, f"cost row {i} end")
        if end < start:
            raise ConfigError(f"cost row {i} ends before it starts; swap start and end")
        if not isinstance(energy_kwh, (int, float)) or not math.isfinite(energy_kwh):
            raise ConfigError(f"cost row {i} energy must be a finite number of kWh")
        if energy_kwh < 0:
            raise ConfigError(f"cost row {i} energy is negative ({energy_kwh!r} kWh)")
        if energy_kwh == 0:
            continue
        if end == start:
            parts.append(energy_kwh * tariff.price_at(start))
            continue
        whole_s = (end - start).total_seconds()
        edges = [start, *tariff.change_points(start, end), end]
        for a, b in pairwise(edges):
            share = (b - a).total_seconds() / whole_s
            parts.append(energy_kwh * share * tariff.price_at(a + (b - a) / 2))
    return math.fsum(parts) * factor
