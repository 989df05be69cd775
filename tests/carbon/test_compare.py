"""The same run at other hours of its day, from a provider's history (a stand-in at the
Provider boundary: hourly bins of known intensity)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from wattprint.carbon.compare import at_hours
from wattprint.carbon.providers import Bin

H = timedelta(hours=1)


class History:
    """Hourly history: 400 g/kWh, 100 at 03:00 and 04:00 UTC; nothing after ``until``."""

    name = "test"

    def __init__(self, until: datetime | None = None) -> None:
        self.until = until
        self.asked: list[tuple[datetime, datetime]] = []

    def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        self.asked.append((start, end))
        out, t = [], start
        while t < end and (self.until is None or t < self.until):
            out.append(Bin(t, t + H, 100.0 if t.hour in (3, 4) else 400.0, "test", "historical"))
            t += H
        return out

    def forecast(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
        return []


def test_each_hour_of_the_day_is_priced_with_the_history() -> None:
    started = datetime(2026, 3, 1, 10, 20, tzinfo=timezone.utc)
    provider = History()
    hours = at_hours(provider, "GB", started, 2 * 3600.0, 2.0, 300.0, 1.5)
    assert provider.asked == [
        (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 2, 2, tzinfo=timezone.utc))
    ]
    assert [h.start for h in hours[:2]] == ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z"]
    by_hour = {int(h.start[11:13]): h.co2_kg for h in hours}
    # 1 kWh per hour x 1.5 PUE: 03-05 both at 100 g; 02-04 half at 400; 10-12 all at 400
    assert by_hour[3] == pytest.approx(2 * 1.5 * 0.100)
    assert by_hour[2] == pytest.approx(1.5 * (0.400 + 0.100))
    assert by_hour[10] == pytest.approx(2 * 1.5 * 0.400)
    assert all(h.covered for h in hours)


def test_hours_without_history_take_the_annual_value_and_say_so() -> None:
    started = datetime(2026, 3, 1, 10, 20, tzinfo=timezone.utc)
    until = datetime(2026, 3, 1, 23, tzinfo=timezone.utc)
    hours = at_hours(History(until), "GB", started, 2 * 3600.0, 2.0, 300.0, 1.0)
    last = hours[23]  # 23:00-01:00: no bins at all, 300 g/kWh throughout
    assert last.co2_kg == pytest.approx(2 * 0.300) and not last.covered
    assert hours[22].co2_kg == pytest.approx(0.400 + 0.300) and not hours[22].covered
    assert hours[21].covered
    assert (
        at_hours(History(started.replace(hour=0, minute=0)), "GB", started, 3600.0, 1, 300, 1) == []
    )
    assert at_hours(History(), "GB", started, 0.0, 1.0, 300.0, 1.0) == []
