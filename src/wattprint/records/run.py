"""The run record: what ``Tracker.stop()`` returns and ``--json`` writes (DESIGN.md contract)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

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


T = TypeVar("T")
_FIELDS: dict[type, tuple[str, ...]] = {}  # field names per record class (filled on first use)


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready plain data: record dataclasses become dicts, tuples lists;
    mappings are copied one level (their values are plain already: sensor details)."""
    cls = type(value)
    if cls in (str, int, float, bool) or value is None:
        return value
    names = _FIELDS.get(cls)
    if names is None and hasattr(cls, "__dataclass_fields__"):
        names = _FIELDS[cls] = tuple(f.name for f in fields(value))
    if names is not None:
        return {n: _plain(getattr(value, n)) for n in names}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(cls: type[T], d: dict[str, Any]) -> T:
    """``cls`` from a record's dict, ignoring keys a newer or older version wrote."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in d.items() if k in names})


def _component(d: dict[str, Any]) -> ComponentEnergy:
    return _typed(ComponentEnergy, {**d, "notes": tuple(d.get("notes", ()))})


def combined_uncertainty_pct(components: tuple[ComponentEnergy, ...]) -> float:
    """Band of the total, treating the components' errors as independent (root sum of squares
    of each component's absolute band)."""
    total = sum(c.energy_kwh for c in components)
    if total <= 0:
        return 0.0
    abs_kwh = math.sqrt(sum((c.energy_kwh * c.uncertainty_pct / 100) ** 2 for c in components))
    return 100 * abs_kwh / total


@dataclass(frozen=True)
class IntensityBin:
    """One time bin of a run's carbon accounting: its energy (before PUE), the intensity that
    applied, where that came from (``source``; ``kind``: historical, forecast or static) and the
    CO2 (energy x PUE x intensity)."""

    start: str  # ISO 8601 UTC
    end: str
    energy_kwh: float
    intensity_g_per_kwh: float
    source: str
    kind: str
    co2_kg: float


@dataclass(frozen=True)
class Embodied:
    """Manufacturing footprint of a run's devices, amortised linearly over their lifetime;
    reported apart from the operational ``co2_kg``, never added into it."""

    kgco2e: float
    devices: int
    device_class: str  # gpu
    share_of_lifetime: float
    uncertainty_pct: float
    source: str
    note: str = "manufacturing, amortised linearly; not in co2_kg"


@dataclass(frozen=True)
class Marginal:
    """What the grid emitted *because* of the run (WattTime marginal rates), apart from the
    average-based ``co2_kg``. Energy in hours without data went to the nearest hour with data
    (``uncovered_kwh``)."""

    co2_kg: float
    intensity_g_per_kwh: float | None
    region: str
    source: str | None
    uncovered_kwh: float
    signal: str = "marginal"


@dataclass(frozen=True)
class Overhead:
    """What wattprint itself used while measuring (sampler ticks, readings at window edges,
    store writes), counted with its own threads' CPU and I/O counters and taken out of the
    tracked tree's use: reported here, never in ``components`` or ``energy_kwh``."""

    energy_kwh: float  # its share of the CPU's and the disks' energy
    cpu_s: float
    io_bytes: int


@dataclass(frozen=True)
class Prediction:
    """The whole training's energy, CO2, duration and cost predicted after a few epochs, with a
    95 % interval from the spread of the epochs seen; at the end, the outcome beside it."""

    after_epochs: int
    epochs_planned: int
    energy_kwh: float
    energy_low_kwh: float
    energy_high_kwh: float
    duration_s: float
    duration_low_s: float
    duration_high_s: float
    co2_kg: float | None = None  # at the zone's intensity and the PUE; None without a zone
    co2_low_kg: float | None = None
    co2_high_kg: float | None = None
    cost: float | None = None  # with a flat tariff
    # With a live provider's forecast: the least-CO2 start in the next 24 h for a run like this
    best_start_at: str | None = None  # ISO 8601 UTC
    best_start_co2_kg: float | None = None
    co2_if_started_now_kg: float | None = None
    # -- filled at stop ---------------------------------------------------------------------
    outcome_energy_kwh: float | None = None
    outcome_duration_s: float | None = None
    outcome_epochs: int | None = None
    within_interval: bool | None = None  # the outcome's energy inside [low, high]


@dataclass(frozen=True)
class NodeShare:
    """One node of a multi-node job in the job's record: what its measuring rank recorded."""

    node_id: str
    host: str
    run_id: str  # the node's own run (in that node's store)
    energy_kwh: float
    co2_kg: float | None
    uncertainty_pct: float
    ranks: tuple[int, ...] = ()  # the job's ranks on this node
    measured_by: int | None = None  # the rank that measured it


@dataclass(frozen=True)
class JobInfo:
    """A run's place in a multi-node job. A node's record has ``node_id``; the job's record
    (written by rank 0) has ``nodes``, its per-node breakdown, and says what did not report."""

    job_id: str
    launcher: str  # torch.distributed | slurm | torchrun | env
    node_id: str | None = None  # this record's node (None in the job record)
    rank: int | None = None  # of the process that wrote the record
    world_size: int | None = None
    expected_nodes: int | None = None  # from SLURM_JOB_NUM_NODES or the launcher
    nodes: tuple[NodeShare, ...] = ()  # the job record's breakdown
    missing_ranks: tuple[int, ...] = ()  # ranks that did not report before the timeout
    missing_nodes: tuple[str, ...] = ()  # nodes whose measuring rank did not report

    @property
    def partial(self) -> bool:
        return bool(self.missing_ranks or self.missing_nodes)


@dataclass(frozen=True)
class LiveView:
    """A running run so far (``Tracker.live()``): what a status line or a callback shows."""

    elapsed_s: float
    energy_kwh: float  # attributed to the scope, before PUE
    power_w: dict[str, float]  # per component ("cpu", "gpu"...), over the last sampling interval
    co2_kg: float | None  # at the zone's bundled intensity; None without a zone

    @property
    def mean_power_w(self) -> float:
        return self.energy_kwh * J_PER_KWH / self.elapsed_s if self.elapsed_s > 0 else 0.0


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
    count: int = 1  # > 1: several windows merged into this one (records/build.WindowLog)
    metrics: dict[str, float] = field(default_factory=dict)  # an epoch's: loss, accuracy...
    stage: str | None = None  # preprocess | train | eval | inference | ...


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
    embodied_kgco2e: Embodied | None = None  # the GPUs' manufacturing share; None without GPUs
    marginal: Marginal | None = None  # marginal emissions (WattTime); None when not configured
    intensity_bins: tuple[IntensityBin, ...] = ()  # per time bin: energy, intensity, source
    overhead: Overhead | None = None  # wattprint's own use, apart from the components
    items: int | None = None  # items processed (Tracker.count): energy per item
    epochs: int | None = None  # epochs closed (Tracker.epoch)
    prediction: Prediction | None = None  # the training's, after the first epochs
    job: JobInfo | None = None  # a node's or a whole job's record in a multi-node job
    # lifecycle | direct | provider | unknown: what the bundled intensity counts (None: no zone)
    intensity_basis: str | None = None

    @property
    def energy_j(self) -> float:
        return self.energy_kwh * J_PER_KWH

    def component(self, name: str) -> tuple[ComponentEnergy, ...]:
        return tuple(c for c in self.components if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: nested dataclasses as dicts, tuples as lists (a plain walk, about
        ten times faster than ``dataclasses.asdict``, which deep-copies every value: this
        runs at every checkpoint)."""
        return _plain(self)  # type: ignore[no-any-return]

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
        kw["intensity_bins"] = tuple(_typed(IntensityBin, b) for b in d.get("intensity_bins") or ())
        if d.get("embodied_kgco2e") is not None:
            kw["embodied_kgco2e"] = _typed(Embodied, d["embodied_kgco2e"])
        if d.get("marginal") is not None:
            kw["marginal"] = _typed(Marginal, d["marginal"])
        if d.get("overhead") is not None:
            kw["overhead"] = _typed(Overhead, d["overhead"])
        if d.get("prediction") is not None:
            kw["prediction"] = _typed(Prediction, d["prediction"])
        if d.get("command") is not None:
            kw["command"] = tuple(d["command"])
        if d.get("job") is not None:
            job = d["job"]
            kw["job"] = _typed(
                JobInfo,
                {
                    **job,
                    "nodes": tuple(
                        _typed(NodeShare, {**n, "ranks": tuple(n.get("ranks", ()))})
                        for n in job.get("nodes", ())
                    ),
                    "missing_ranks": tuple(job.get("missing_ranks", ())),
                    "missing_nodes": tuple(job.get("missing_nodes", ())),
                },
            )
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
