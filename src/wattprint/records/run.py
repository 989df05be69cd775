"""The run record: what ``Tracker.stop()`` returns and ``--json`` writes (DESIGN.md contract)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class ComponentEnergy:
    """One device's energy over a run or window."""

    name: str  # cpu | gpu | ram | storage
    device: str
    energy_kwh: float
    method: str
    provenance: str  # measured | integrated | estimated
    uncertainty_pct: float
    gap_s: float = 0.0  # seconds in which the device could not be read (energy not counted)
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def energy_j(self) -> float:
        return self.energy_kwh * J_PER_KWH


def _component(d: dict[str, Any]) -> ComponentEnergy:
    names = {f.name for f in fields(ComponentEnergy)}
    kw = {k: v for k, v in d.items() if k in names}
    kw["notes"] = tuple(d.get("notes", ()))
    return ComponentEnergy(**kw)


def combined_uncertainty_pct(components: tuple[ComponentEnergy, ...]) -> float:
    """Band of the total, treating the components' errors as independent (root sum of squares
    of each component's absolute band)."""
    total = sum(c.energy_kwh for c in components)
    if total <= 0:
        return 0.0
    abs_kwh = math.sqrt(sum((c.energy_kwh * c.uncertainty_pct / 100) ** 2 for c in components))
    return 100 * abs_kwh / total


@dataclass(frozen=True)
class Window:
    """A named part of a run (``begin_window``/``end_window``, or an epoch)."""

    name: str
    started_at: str  # ISO 8601 UTC
    duration_s: float
    energy_kwh: float
    co2_kg: float | None
    uncertainty_pct: float
    components: tuple[ComponentEnergy, ...]


@dataclass(frozen=True)
class Run:
    """A finished (or interrupted) measurement. ``to_dict()`` is the JSON record."""

    run_id: str
    project: str
    started_at: str  # ISO 8601 UTC
    duration_s: float
    energy_kwh: float  # IT energy of the components, before PUE
    co2_kg: float | None  # energy_kwh x pue x intensity; None when no zone was given
    zone: str | None
    intensity_g_per_kwh: float | None
    intensity_source: str | None
    pue: float
    components: tuple[ComponentEnergy, ...]
    scope: str
    uncertainty_pct: float
    exit_code: int | None = None
    error: str | None = None  # exception type and message when the tracked code raised
    windows: tuple[Window, ...] = ()
    warnings: tuple[str, ...] = ()
    wattprint_version: str = ""
    host: str = ""
    samples: int = 0  # sensor readings taken during the run
    # -- context, for the run store ---------------------------------------------------------
    status: str = "finished"  # running | finished | failed | interrupted
    ended_at: str | None = None  # ISO 8601 UTC; None while running
    experiment: str | None = None
    tags: tuple[str, ...] = ()
    command: tuple[str, ...] | None = None  # for `wattprint run`: the command line
    signal: int | None = None  # the signal that ended the command, if one did
    user: str = ""
    git_commit: str | None = None  # of the working directory's repository, when in one
    python_version: str = ""
    packages: dict[str, str] = field(default_factory=dict)  # versions of loaded ML packages
    # -- carbon accounting -------------------------------------------------------------------
    cost: float | None = None  # electricity cost with the configured tariff (energy x PUE)
    zone_resolved_by: str | None = None  # argument | env | config | cloud-metadata | ...
    # Manufacturing footprint of the run's GPUs, amortised over their lifetime; kept apart
    # from co2_kg (operational), never added into it. None without GPUs.
    embodied_kgco2e: dict[str, Any] | None = None
    # Marginal emissions (WattTime), apart from the average-based co2_kg. None when off.
    marginal: dict[str, Any] | None = None
    intensity_bins: tuple[dict[str, Any], ...] = ()  # per time bin: energy, intensity, source

    @property
    def energy_j(self) -> float:
        return self.energy_kwh * J_PER_KWH

    def component(self, name: str) -> tuple[ComponentEnergy, ...]:
        return tuple(c for c in self.components if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for c in d["components"]:
            c["notes"] = list(c["notes"])
        for w in d["windows"]:
            for c in w["components"]:
                c["notes"] = list(c["notes"])
        d["windows"] = [dict(w, components=list(w["components"])) for w in d["windows"]]
        d["components"] = list(d["components"])
        d["warnings"] = list(d["warnings"])
        d["tags"] = list(d["tags"])
        d["intensity_bins"] = [dict(b) for b in d["intensity_bins"]]
        if d["command"] is not None:
            d["command"] = list(d["command"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        """Inverse of :meth:`to_dict` (unknown keys are ignored, missing ones defaulted)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["components"] = tuple(_component(c) for c in d.get("components", ()))
        kw["windows"] = tuple(
            Window(**{**w, "components": tuple(_component(c) for c in w.get("components", ()))})
            for w in d.get("windows", ())
        )
        kw["warnings"] = tuple(d.get("warnings", ()))
        kw["tags"] = tuple(d.get("tags", ()))
        kw["intensity_bins"] = tuple(d.get("intensity_bins", ()))
        if d.get("command") is not None:
            kw["command"] = tuple(d["command"])
        return cls(**kw)

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)


@dataclass(frozen=True)
class TimelineData:
    """A run's cumulative energy over time, per component, for plots and the store.

    ``t_s`` are seconds since the run started; ``energy_j[key]`` (key ``"cpu:package-0"``) the
    cumulative joules at those instants. Kept apart from :class:`Run` so the JSON record stays
    small.
    """

    t_s: tuple[float, ...]
    energy_j: dict[str, tuple[float, ...]]
