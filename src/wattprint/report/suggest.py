"""What would have lowered a run's footprint, with the saving, its assumptions and how sure it is.

Every rule reads the finished :class:`Run` (its components, their details, its zone and
intensity) and our bundled data; none measures anything again. Savings are *estimates* for a
run like this one done differently: ``saving_kwh`` is IT energy (before PUE, like the run's
``energy_kwh``); ``saving_kg`` is CO2e at the run's PUE (``None`` when the run has no zone).

Rules (thresholds are module constants, so a test can state them):

- **idle-gpu**: a GPU busy < 10 % of the time; the saving is all of its energy.
- **gpu-starved**: GPUs busy 10-50 % of the time wait on the CPU or the input pipeline; the saving
  is the RAM and storage energy of the time a GPU-bound job (busy 90 %) would not take.
- **power-cap**: busy GPUs that use most of the energy; up to 15 % of their energy with a power
  cap (McDonald et al. 2022), a published figure for one workload, hence low confidence.
- **memory-storage**: RAM and storage above 30 % of the energy; the saving is what they use above
  a typical 10 %.
- **region** / **zone**: a cleaner cloud region of the same provider (in the same country, then
  anywhere) or, for a run on a country's grid, a cleaner cloud region in that country; the
  saving is the run's energy x PUE x the difference in annual intensity (the run's zone's
  annual figure, not the hours it ran: like is compared with like).
- **hour**: the least-CO2 start in the next 24 h from a live provider's forecast (the run's
  prediction, or :func:`wattprint.carbon.forecast.best_start`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wattprint.hints import IDLE_GPU_PCT
from wattprint.records.run import ComponentEnergy, Run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.carbon.forecast import BestStart

STARVED_GPU_PCT = 50.0  # busy below this (and above IDLE_GPU_PCT): the GPU waits for its input
GPU_BOUND_PCT = 90.0  # how busy a GPU-bound job keeps its GPUs
POWER_CAP_MIN_SHARE = 0.5  # busy GPUs using at least this share of the energy
POWER_CAP_SAVING = 0.15
POWER_CAP_SOURCE = (
    "McDonald et al., 'Great Power, Great Responsibility: Recommendations for Reducing Energy "
    "for Training Language Models', Findings of NAACL 2022 (arXiv:2205.09646): power capping "
    "gave up to 15 % less energy with a marginal increase in time (transformer LM training, V100)"
)
MEMORY_STORAGE_SHARE = 0.30  # RAM and storage above this share of the energy
TYPICAL_MEMORY_STORAGE_SHARE = 0.10
CLEANER_BY = 0.10  # a place must cut the run's CO2 by at least this fraction to be suggested
CONFIDENCES = ("high", "medium", "low")


@dataclass(frozen=True)
class Suggestion:
    kind: str  # idle-gpu | gpu-starved | power-cap | memory-storage | region | zone | hour
    advice: str  # what to do, one sentence
    saving_kwh: float  # IT energy, before PUE (0 for a move in place or time)
    saving_kg: float | None  # CO2e at the run's PUE; None without a zone
    confidence: str  # high | medium | low
    assumptions: tuple[str, ...]
    source: str | None = None  # where a published figure comes from


@dataclass(frozen=True)
class Place:
    """A zone a run could have used instead, with its annual intensity."""

    code: str
    name: str
    country: str
    intensity_g_per_kwh: float
    source: str
    year: int | None


def _kg(run: Run, kwh: float) -> float | None:
    if run.intensity_g_per_kwh is None or run.co2_kg is None:
        return None
    return kwh * run.pue * run.intensity_g_per_kwh / 1000


def _busy(c: ComponentEnergy) -> float | None:
    pct = c.details.get("mean_utilization_pct")
    return float(pct) if isinstance(pct, (int, float)) and not isinstance(pct, bool) else None


def _gpu_rules(run: Run) -> list[Suggestion]:
    out: list[Suggestion] = []
    gpus = [(c, _busy(c)) for c in run.components if c.name == "gpu"]
    idle = [c for c, pct in gpus if pct is not None and pct < IDLE_GPU_PCT]
    if idle:
        kwh = sum(c.energy_kwh for c in idle)
        names = ", ".join(c.device for c in idle)
        every = len(idle) == len(gpus)
        out.append(
            Suggestion(
                "idle-gpu",
                f"{names} ran kernels under {IDLE_GPU_PCT:g} % of the time: "
                + (
                    "run without GPUs (or on a smaller one)"
                    if every
                    else "leave them out (CUDA_VISIBLE_DEVICES) and run on the busy ones"
                ),
                kwh,
                _kg(run, kwh),
                "medium",
                (
                    "the same work runs as fast without these GPUs",
                    "an unused GPU is powered off or given to other work (its idle draw is "
                    "counted in full)",
                ),
            )
        )
    starved = [(c, p) for c, p in gpus if p is not None and IDLE_GPU_PCT <= p < STARVED_GPU_PCT]
    if starved:
        pct = sum(p for _, p in starved) / len(starved)
        time_kept = pct / GPU_BOUND_PCT
        rest = sum(c.energy_kwh for c in run.components if c.name in ("ram", "storage"))
        kwh = rest * (1 - time_kept)
        out.append(
            Suggestion(
                "gpu-starved",
                f"the GPUs were busy only {pct:.0f} % of the time: the job waits on the CPU or "
                "its input pipeline; more data-loader workers, pinned memory, prefetching or "
                "preprocessing once ahead of training",
                kwh,
                _kg(run, kwh),
                "low",
                (
                    f"a GPU-bound job keeps its GPUs {GPU_BOUND_PCT:g} % busy and takes "
                    f"{100 * time_kept:.0f} % of this run's time",
                    "counts only RAM and storage, which draw power for as long as the run "
                    "lasts; the GPUs' idle draw over the time saved would add to it",
                ),
            )
        )
    busy = [c for c, p in gpus if p is not None and p >= STARVED_GPU_PCT]
    busy_kwh = sum(c.energy_kwh for c in busy)
    if busy and run.energy_kwh > 0 and busy_kwh / run.energy_kwh >= POWER_CAP_MIN_SHARE:
        caps = [
            f"{c.device} to {0.6 * lim:.0f}-{0.8 * lim:.0f} W"
            for c in busy
            if isinstance(lim := c.details.get("power_limit_w"), (int, float))
        ]
        kwh = POWER_CAP_SAVING * busy_kwh
        out.append(
            Suggestion(
                "power-cap",
                "try a GPU power cap (nvidia-smi -pl WATTS)"
                + (f": {'; '.join(caps)}" if caps else " at 60-80 % of the board's limit")
                + "; compare energy per epoch with wattprint before keeping it",
                kwh,
                _kg(run, kwh),
                "low",
                (
                    f"up to {100 * POWER_CAP_SAVING:g} % of the busy GPUs' energy, as published "
                    "for one training workload; the run takes somewhat longer",
                    "other models and GPUs save more or less",
                ),
                POWER_CAP_SOURCE,
            )
        )
    return out


def _memory_storage(run: Run) -> list[Suggestion]:
    rs = sum(c.energy_kwh for c in run.components if c.name in ("ram", "storage"))
    if run.energy_kwh <= 0 or rs / run.energy_kwh < MEMORY_STORAGE_SHARE:
        return []
    rest = run.energy_kwh - rs
    typical = rest * TYPICAL_MEMORY_STORAGE_SHARE / (1 - TYPICAL_MEMORY_STORAGE_SHARE)
    kwh = rs - typical
    estimated = all(
        c.provenance == "estimated" for c in run.components if c.name in ("ram", "storage")
    )
    return [
        Suggestion(
            "memory-storage",
            f"RAM and storage used {100 * rs / run.energy_kwh:.0f} % of the energy: they draw "
            "power for as long as the run lasts, so the time spent waiting costs; "
            + (
                "in machine scope every installed GB counts, so share the machine or shorten "
                "the idle parts"
                if run.scope == "machine"
                else "shorten the idle parts, hold less in memory, or read data once"
            ),
            kwh,
            _kg(run, kwh),
            "low",
            (
                f"a run like this uses about {100 * TYPICAL_MEMORY_STORAGE_SHARE:g} % of its "
                "energy in RAM and storage",
                *(
                    ("RAM and storage energy are estimated from capacity, not measured",)
                    if estimated
                    else ()
                ),
            ),
        )
    ]


def cloud_places() -> list[Place]:
    """Every bundled cloud region with its intensity (Google's figure, else its grid's)."""
    from wattprint.carbon import cloud, zones

    out = []
    for code, region in cloud.regions().items():
        value = zones.intensity(code)
        out.append(
            Place(
                code,
                region.name,
                region.parent,
                value.intensity_g_per_kwh,
                value.source,
                value.year,
            )
        )
    return out


def _country(code: str) -> str | None:
    from wattprint.carbon import zones
    from wattprint.errors import ConfigError

    try:
        zone = zones.lookup_zone(code)
    except ConfigError:
        return None
    return zone.parent or zone.code


def _annual(zone: str, places: Sequence[Place]) -> float | None:
    """The zone's annual intensity: from ``places`` when it is one of them, else bundled."""
    from wattprint.carbon import zones
    from wattprint.errors import ConfigError

    for p in places:
        if p.code == zone:
            return p.intensity_g_per_kwh
    try:
        return zones.intensity(zone).intensity_g_per_kwh
    except ConfigError:
        return None


def _place_rules(run: Run, places: Sequence[Place]) -> list[Suggestion]:
    if run.zone is None or run.intensity_g_per_kwh is None or run.co2_kg is None:
        return []
    if run.energy_kwh <= 0 or run.intensity_g_per_kwh <= 0:
        return []
    provider = run.zone.split(":", 1)[0] if ":" in run.zone else None
    country = _country(run.zone)
    here = _annual(run.zone, places)  # like for like: annual against annual
    if here is None or here <= 0:
        return []
    limit = here * (1 - CLEANER_BY)

    def best(pool: Iterable[Place]) -> Place | None:
        found = [p for p in pool if p.code != run.zone and p.intensity_g_per_kwh <= limit]
        return min(found, key=lambda p: (p.intensity_g_per_kwh, p.code), default=None)

    picks: list[tuple[str, Place, str]] = []
    if provider is not None:
        mine = [p for p in places if p.code.startswith(provider + ":")]
        near = best(p for p in mine if p.country == country)
        if near is not None:
            picks.append(("region", near, "in the same country"))
        far = best(mine)
        if far is not None and far != near:
            picks.append(("region", far, "anywhere"))
    else:
        near = best(p for p in places if p.country == country)
        if near is not None:
            picks.append(("zone", near, "a cloud region in the same country"))
    out = []
    for kind, place, where in picks:
        kg = run.energy_kwh * run.pue * (here - place.intensity_g_per_kwh) / 1000
        out.append(
            Suggestion(
                kind,
                f"run in {place.code} ({place.name}; {where}): {place.intensity_g_per_kwh:g} "
                f"g/kWh a year on average, against {here:g} for {run.zone}",
                0.0,
                kg,
                "medium",
                (
                    "the same energy and PUE there",
                    "annual average intensities, not the hours the run would run",
                    "data residency, latency, price and availability not considered",
                ),
                f"{place.source}, {place.year or 'undated'}",
            )
        )
    return out


def _hour_rule(run: Run, best: BestStart | None) -> list[Suggestion]:
    p = run.prediction
    if best is not None:
        at, kg = best.start.strftime("%Y-%m-%d %H:%M UTC"), best.saving_kg
        source = "a live provider's forecast, asked now"
    elif (
        p is not None
        and p.best_start_at is not None
        and p.best_start_co2_kg is not None
        and p.co2_if_started_now_kg is not None
    ):
        at, kg = p.best_start_at, p.co2_if_started_now_kg - p.best_start_co2_kg
        source = f"a live provider's forecast, asked after epoch {p.after_epochs}"
    else:
        return []
    if kg <= 0:
        return []
    return [
        Suggestion(
            "hour",
            f"start a run like this at {at}: the grid's forecast is cleaner then",
            0.0,
            kg,
            "medium",
            (
                "the run's energy spread evenly over its duration",
                "the forecast holds; hours it does not cover take the zone's annual value",
            ),
            source,
        )
    ]


def suggestions(
    run: Run, best: BestStart | None = None, places: Sequence[Place] | None = None
) -> list[Suggestion]:
    """What would have lowered ``run``'s footprint, biggest CO2 saving first (energy saving
    where the run has no zone). ``best``: a forecast's best start for a run like this;
    ``places``: where a run could go instead (default: every bundled cloud region)."""
    if places is None and run.zone is not None and run.co2_kg is not None:
        places = cloud_places()
    found = [
        *_gpu_rules(run),
        *_memory_storage(run),
        *_place_rules(run, places or ()),
        *_hour_rule(run, best),
    ]
    found = [s for s in found if s.saving_kwh > 0 or (s.saving_kg or 0) > 0]
    return sorted(found, key=lambda s: (-(s.saving_kg or 0.0), -s.saving_kwh, s.kind))
