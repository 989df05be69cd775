"""Time-binned carbon accounting: a run's energy split over intensity bins, times PUE.

``CO2 = Σ_bins E_bin × CI_bin × PUE`` (DESIGN.md, carbon rules). A bin is anything with
``start``, ``end`` (aware datetimes), ``intensity_g_per_kwh``, ``source`` and ``kind`` — the
providers' ``Bin`` and :class:`StaticBin` both fit :class:`IntensityBin` structurally.

How energy lands in bins: the run's cumulative energy (the sum over the timeline's components)
is interpolated linearly between timeline points — power is taken as uniform between two
readings — and each bin gets ``E(end) - E(start)``. Bins are half-open ``[start, end)``.

Bins that carry a ``signal`` (the providers' average vs marginal intensity) must all carry the
same one.

Energy outside every bin is an error by default (``uncovered="error"``): the providers fall
back to the static table for hours they could not give, so a gap means the caller built the
wrong bins, and a silent guess would break "never invent anything". ``uncovered="nearest"``
instead gives such energy to the nearest bin in time (a gap between two bins is split at its
middle) and reports the amount in :attr:`Accounting.uncovered_kwh`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any, Literal, Protocol

from wattprint.errors import ConfigError
from wattprint.records.run import J_PER_KWH, TimelineData

Uncovered = Literal["error", "nearest"]
HOUR = timedelta(hours=1)


class IntensityBin(Protocol):
    """A span of time with one grid intensity, and where that number came from."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def intensity_g_per_kwh(self) -> float: ...
    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class StaticBin:
    """A concrete :class:`IntensityBin` (what :func:`hourly_bins` makes)."""

    start: datetime
    end: datetime
    intensity_g_per_kwh: float
    source: str
    kind: str = "static"


@dataclass(frozen=True)
class BinRow:
    """One bin's share of a run. ``energy_kwh`` is IT energy (before PUE); ``co2_kg`` includes
    PUE."""

    start: datetime
    end: datetime
    energy_kwh: float
    intensity_g_per_kwh: float
    source: str
    kind: str
    co2_kg: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "energy_kwh": self.energy_kwh,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "source": self.source,
            "kind": self.kind,
            "co2_kg": self.co2_kg,
        }


@dataclass(frozen=True)
class SourceShare:
    """How much of the run one intensity source covered. ``share`` is the fraction of the
    run's energy (0.0 when the run used none); ``bins`` counts the rows from this source."""

    source: str
    kind: str
    bins: int
    energy_kwh: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "bins": self.bins,
            "energy_kwh": self.energy_kwh,
            "share": self.share,
        }


@dataclass(frozen=True)
class Accounting:
    """The result of :func:`account`. ``rows`` are the bins the run touched, in time order;
    ``sources`` are ordered by share, largest first."""

    co2_kg: float
    energy_kwh: float  # IT energy of the run, before PUE
    pue: float
    rows: tuple[BinRow, ...]
    sources: tuple[SourceShare, ...]
    uncovered_kwh: float = 0.0  # energy outside every bin, given to the nearest one
    signal: str = "average"  # or "marginal": the bins' ``signal`` (average when they have none)

    @property
    def intensity_g_per_kwh(self) -> float | None:
        """The energy-weighted mean intensity (None when the run used no energy)."""
        if self.energy_kwh <= 0:
            return None
        weighted = math.fsum(r.energy_kwh * r.intensity_g_per_kwh for r in self.rows)
        return weighted / self.energy_kwh

    @property
    def intensity_source(self) -> str | None:
        """The sources for the run record: one name, or ``"a+b"`` largest share first."""
        names = list(dict.fromkeys(s.source for s in self.sources))
        return "+".join(names) if names else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "co2_kg": self.co2_kg,
            "energy_kwh": self.energy_kwh,
            "pue": self.pue,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "uncovered_kwh": self.uncovered_kwh,
            "signal": self.signal,
            "bins": [r.to_dict() for r in self.rows],
            "sources": [s.to_dict() for s in self.sources],
        }


def validate_pue(pue: float) -> float:
    """``pue`` as a float, or ConfigError unless it is a finite number >= 1.0."""
    if isinstance(pue, bool) or not isinstance(pue, (int, float)):
        raise ConfigError(f"pue must be a number >= 1.0, got {pue!r}; use 1.0 if unknown")
    value = float(pue)
    if not math.isfinite(value) or value < 1.0:
        raise ConfigError(
            f"pue must be a finite number >= 1.0 (facility energy / IT energy), got {pue!r}; "
            "use 1.0 if unknown"
        )
    return value


def require_aware(when: datetime, what: str) -> datetime:
    """``when`` unchanged, or ConfigError if it has no time zone."""
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ConfigError(
            f"{what} must be a timezone-aware datetime, got {when!r}; "
            "e.g. datetime.now(timezone.utc)"
        )
    return when


class EnergyCurve:
    """The run's total cumulative energy (J) as a piecewise-linear function of seconds."""

    def __init__(self, timeline: TimelineData) -> None:
        t = [float(x) for x in timeline.t_s]
        n = len(t)
        for key, series in timeline.energy_j.items():
            if len(series) != n:
                raise ConfigError(
                    f"timeline series {key!r} has {len(series)} points but t_s has {n}; "
                    "build the timeline from one meter"
                )
        columns = list(timeline.energy_j.values())
        e = [math.fsum(col) for col in zip(*columns, strict=True)] if columns else [0.0] * n
        for i in range(n):
            if not (math.isfinite(t[i]) and math.isfinite(e[i])):
                raise ConfigError(f"timeline point {i} is not finite; drop it before accounting")
            if i and t[i] < t[i - 1]:
                raise ConfigError(f"timeline t_s goes back at point {i}; sort the timeline")
            if i and e[i] < e[i - 1]:
                raise ConfigError(
                    f"timeline energy goes down at t={t[i]:g} s; cumulative energy never "
                    "decreases (record a counter reset as a gap)"
                )
        self.t, self.e = t, e

    @property
    def empty(self) -> bool:
        return len(self.t) < 2 or self.e[-1] == self.e[0]

    def at(self, x: float) -> float:
        t, e = self.t, self.e
        if not t:
            return 0.0
        if x <= t[0]:
            return e[0]
        if x >= t[-1]:
            return e[-1]
        i = bisect_right(t, x) - 1  # t[i] <= x < t[i + 1]
        return e[i] + (e[i + 1] - e[i]) * (x - t[i]) / (t[i + 1] - t[i])

    def between(self, a: float, b: float) -> float:
        return self.at(b) - self.at(a) if b > a else 0.0


def _spans(started_at: datetime, bins: Sequence[IntensityBin]) -> list[tuple[float, float, int]]:
    """Each bin as (start_s, end_s, index) relative to the run start; checks shape."""
    spans = []
    for i, b in enumerate(bins):
        start = require_aware(b.start, f"intensity bin {i} start")
        end = require_aware(b.end, f"intensity bin {i} end")
        if end <= start:
            raise ConfigError(
                f"intensity bin {i} ends ({end.isoformat()}) at or before its start "
                f"({start.isoformat()}); bins need end > start"
            )
        spans.append(((start - started_at).total_seconds(), (end - started_at).total_seconds(), i))
    ordered = sorted(spans)
    for (_, end0, i0), (start1, _, i1) in pairwise(ordered):
        if start1 < end0:
            raise ConfigError(
                f"intensity bins {i0} and {i1} overlap ({bins[i1].start.isoformat()} < "
                f"{bins[i0].end.isoformat()}); energy would be counted twice, pass disjoint bins"
            )
    return ordered


def _split(
    timeline: TimelineData,
    started_at: datetime,
    bins: Sequence[IntensityBin],
    uncovered: Uncovered,
) -> tuple[list[float], float]:
    """Joules per bin (input order) and the joules that lay outside every bin."""
    require_aware(started_at, "started_at")
    if uncovered not in ("error", "nearest"):
        raise ConfigError(f"uncovered must be 'error' or 'nearest', got {uncovered!r}")
    curve = EnergyCurve(timeline)
    ordered = _spans(started_at, bins)
    energy_j = [0.0] * len(bins)
    for start_s, end_s, i in ordered:
        energy_j[i] = curve.between(start_s, end_s)
    if curve.empty:
        return energy_j, 0.0
    # The gaps around and between bins, each with its neighbours (None: no bin on that side).
    gaps: list[tuple[float, float, int | None, int | None]] = []
    cursor, prev = -math.inf, None
    for start_s, end_s, i in ordered:
        if start_s > cursor:
            gaps.append((cursor, start_s, prev, i))
        cursor, prev = end_s, i
    gaps.append((cursor, math.inf, prev, None))
    outside_j = 0.0
    for a, b, left, right in gaps:
        lost_j = curve.between(a, b)
        if lost_j <= 0:
            continue
        if uncovered == "error" or (left is None and right is None):
            lo = started_at + timedelta(seconds=max(a, curve.t[0]))
            hi = started_at + timedelta(seconds=min(b, curve.t[-1]))
            raise ConfigError(
                f"{lost_j / J_PER_KWH:.3g} kWh of the run ({lo.isoformat()} to "
                f"{hi.isoformat()}) falls outside every intensity bin; pass bins that cover "
                "the whole run, or uncovered='nearest'"
            )
        outside_j += lost_j
        if left is None:
            assert right is not None
            energy_j[right] += lost_j
        elif right is None:
            energy_j[left] += lost_j
        else:
            mid = (a + b) / 2
            energy_j[left] += curve.between(a, mid)
            energy_j[right] += curve.between(mid, b)
    return energy_j, outside_j


def energy_per_bin(
    timeline: TimelineData,
    started_at: datetime,
    bins: Sequence[IntensityBin],
    *,
    uncovered: Uncovered = "error",
) -> list[float]:
    """The run's energy in each bin, in **kWh**, in the order of ``bins``.

    ``started_at`` is the wall-clock instant of ``t_s == 0``. Energy is interpolated linearly
    between timeline points; energy outside every bin raises ConfigError, or with
    ``uncovered="nearest"`` goes to the nearest bin. Overlapping or empty bins, naive datetimes
    and a malformed timeline raise ConfigError.
    """
    energy_j, _ = _split(timeline, started_at, bins, uncovered)
    return [e / J_PER_KWH for e in energy_j]


def account(
    timeline: TimelineData,
    started_at: datetime,
    bins: Sequence[IntensityBin],
    pue: float = 1.0,
    *,
    uncovered: Uncovered = "error",
) -> Accounting:
    """CO2 of a run: ``Σ E_bin × CI_bin × PUE`` over the bins (see :func:`energy_per_bin`).

    Rows are kept for every bin that overlaps the run (or got energy), so the record says
    which hours used which source, including fallback bins.
    """
    pue = validate_pue(pue)
    for i, b in enumerate(bins):
        ci = b.intensity_g_per_kwh
        if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not math.isfinite(ci):
            raise ConfigError(f"intensity bin {i} has intensity {ci!r}; need a finite number")
        if ci < 0:
            raise ConfigError(f"intensity bin {i} has negative intensity {ci!r} g/kWh")
    # Providers' bins may say whether they are average or marginal (WattTime MOER) intensity;
    # the two answer different questions and must not be summed into one figure.
    signals = {str(getattr(b, "signal", "average")) for b in bins}
    if len(signals) > 1:
        raise ConfigError(
            f"intensity bins mix signals {sorted(signals)}; account average and marginal "
            "intensity separately"
        )
    energy_j, outside_j = _split(timeline, started_at, bins, uncovered)
    t = [float(x) for x in timeline.t_s] or [0.0]
    run_start = started_at + timedelta(seconds=t[0])
    run_end = started_at + timedelta(seconds=t[-1])
    rows: list[BinRow] = []
    for b, e_j in sorted(zip(bins, energy_j, strict=True), key=lambda p: p[0].start):
        if run_end > run_start:
            touched = b.start < run_end and b.end > run_start
        else:
            touched = b.start <= run_start < b.end
        if not (touched or e_j):
            continue
        kwh = e_j / J_PER_KWH
        ci = float(b.intensity_g_per_kwh)
        rows.append(BinRow(b.start, b.end, kwh, ci, b.source, b.kind, kwh * ci * pue / 1000))
    energy_kwh = math.fsum(r.energy_kwh for r in rows)
    groups: dict[tuple[str, str], list[BinRow]] = {}
    for r in rows:
        groups.setdefault((r.source, r.kind), []).append(r)
    sources = []
    for (source, kind), group in groups.items():
        kwh = math.fsum(r.energy_kwh for r in group)
        share = kwh / energy_kwh if energy_kwh > 0 else 0.0
        sources.append(SourceShare(source, kind, len(group), kwh, share))
    sources.sort(key=lambda s: (-s.share, -s.bins, s.source, s.kind))
    return Accounting(
        co2_kg=math.fsum(r.co2_kg for r in rows),
        energy_kwh=energy_kwh,
        pue=pue,
        rows=tuple(rows),
        sources=tuple(sources),
        uncovered_kwh=outside_j / J_PER_KWH,
        signal=signals.pop() if signals else "average",
    )


def hourly_bins(
    start: datetime, end: datetime, value: float, source: str, kind: str = "static"
) -> list[StaticBin]:
    """Bins of one intensity ``value`` (g/kWh), aligned to whole UTC hours, that cover
    ``[start, end]`` (a zero-length span gets the hour that holds it)."""
    require_aware(start, "start")
    require_aware(end, "end")
    if end < start:
        raise ConfigError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"intensity must be a finite number of g/kWh, got {value!r}")
    if value < 0:
        raise ConfigError(f"intensity must be >= 0 g/kWh, got {value!r}")
    t = start.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    stop = end.astimezone(timezone.utc)
    out = [StaticBin(t, t + HOUR, float(value), source, kind)]
    t += HOUR
    while t < stop:
        out.append(StaticBin(t, t + HOUR, float(value), source, kind))
        t += HOUR
    return out
