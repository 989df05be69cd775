"""Turn a live provider's bins into a gap-free series over a run, filling from the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from wattprint.carbon.providers.base import Bin, Provider, hours, overlapping, utc
from wattprint.errors import ProviderError

STATIC_PREFIX = "static: "


def _static(start: datetime, end: datetime, value: float, source: str) -> list[Bin]:
    """Static bins over ``[start, end)``, split at UTC hour boundaries."""
    out: list[Bin] = []
    for hour in hours(start, end):
        lo, hi = max(hour, start), min(hour + timedelta(hours=1), end)
        if hi > lo:
            out.append(Bin(lo, hi, value, f"{STATIC_PREFIX}{source}", "historical"))
    return out


def fill(
    bins: Sequence[Bin], start: datetime, end: datetime, static: float, static_source: str
) -> list[Bin]:
    """Contiguous bins exactly covering ``[start, end)``: the provider's bins clipped to the
    range (the earlier bin wins where two overlap), and static hourly pieces in every gap."""
    lo, hi = utc(start), utc(end)
    out: list[Bin] = []
    cursor = lo
    for b in overlapping(bins, lo, hi):
        b_start, b_end = max(b.start, cursor), min(b.end, hi)
        if b_end <= b_start:
            continue  # wholly overlapped by an earlier bin
        if b_start > cursor:
            out.extend(_static(cursor, b_start, static, static_source))
        out.append(Bin(b_start, b_end, b.intensity_g_per_kwh, b.source, b.kind, b.signal))
        cursor = b_end
    if cursor < hi:
        out.extend(_static(cursor, hi, static, static_source))
    return out


def intensity_bins(
    provider: Provider,
    zone: str,
    start: datetime,
    end: datetime,
    static: float,
    *,
    static_source: str = "bundled table",
    use_forecast: bool = False,
) -> tuple[list[Bin], str | None]:
    """Bins covering ``[start, end)`` and a warning (or None).

    Provider bins are used where the provider has them (native resolution, half-hourly or finer
    for most); every gap is filled with ``static`` in hourly pieces whose source is
    ``"static: <static_source>"``. With ``use_forecast``, gaps are first filled from the
    provider's forecast (bins of kind ``forecast``). If the provider fails (any
    :class:`ProviderError`: HTTP, timeout, garbage, unsupported zone), every bin is static and
    the one-line warning says why; nothing is printed or raised.
    """
    lo, hi = utc(start), utc(end)
    if hi <= lo:
        return [], None
    try:
        live = provider.history(zone, lo, hi)
        if use_forecast:
            covered = fill(live, lo, hi, static, static_source)
            if any(b.source.startswith(STATIC_PREFIX) for b in covered):
                live = [*live, *provider.forecast(zone, lo, hi)]
    except ProviderError as exc:
        warning = (
            f"live carbon intensity unavailable ({exc}); using the static "
            f"{static:g} g/kWh ({static_source}) for the whole run"
        )
        return _static(lo, hi, static, static_source), warning
    return fill(live, lo, hi, static, static_source), None


def coverage_s(bins: Sequence[Bin]) -> dict[str, float]:
    """Seconds covered per source: which part of the run came from where."""
    out: dict[str, float] = {}
    for b in bins:
        out[b.source] = out.get(b.source, 0.0) + b.duration_s
    return out
