"""Scope 2 period figures from the run store, in the GHG Protocol Scope 2 Guidance's terms.

For the runs started in a period (optionally one project), by project and month of start
(UTC): IT energy, facility energy (IT x PUE: what was bought from the grid), **location-based**
CO2e (the runs' own ``co2_kg``: facility energy x the grid-average intensity of their zone and
hours) and **market-based** CO2e (the same energy x the contractual factors the user supplied
for the zone and day — supplier factor, PPA, certificates — by the share each covers; energy
no instrument covers keeps its location-based intensity, because no residual mix is bundled,
which the report says). Runs that cannot be counted are listed, not dropped silently:
still running, interrupted (partial energy), or without a zone (no CO2).

Also: the share of IT energy measured (RAPL, NVML...) vs estimated (models), the combined
band of the energy, both if the runs' errors are independent and if they all lean the same
way (estimates from one model usually do), and the intensity sources used with their licence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from wattprint.carbon.contracts import ContractFactor
from wattprint.records.reader import EsgInput
from wattprint.records.run import Run


@dataclass(frozen=True)
class EsgRow:
    project: str
    month: str  # YYYY-MM, or "" for a total
    runs: int
    it_energy_kwh: float
    facility_energy_kwh: float  # x PUE
    location_co2_kg: float
    market_co2_kg: float
    measured_kwh: float  # IT energy from measuring sensors
    band_kwh_sq: float  # sum of the squared absolute bands (for the independent case)
    band_kwh_sum: float  # sum of the absolute bands (for the correlated case)

    @property
    def measured_pct(self) -> float:
        return 100 * self.measured_kwh / self.it_energy_kwh if self.it_energy_kwh > 0 else 0.0

    @property
    def band_independent_pct(self) -> float:
        e = self.it_energy_kwh
        return 100 * math.sqrt(self.band_kwh_sq) / e if e > 0 else 0.0

    @property
    def band_correlated_pct(self) -> float:
        return 100 * self.band_kwh_sum / self.it_energy_kwh if self.it_energy_kwh > 0 else 0.0

    def __add__(self, other: EsgRow) -> EsgRow:
        return EsgRow(
            self.project,
            self.month,
            self.runs + other.runs,
            self.it_energy_kwh + other.it_energy_kwh,
            self.facility_energy_kwh + other.facility_energy_kwh,
            self.location_co2_kg + other.location_co2_kg,
            self.market_co2_kg + other.market_co2_kg,
            self.measured_kwh + other.measured_kwh,
            self.band_kwh_sq + other.band_kwh_sq,
            self.band_kwh_sum + other.band_kwh_sum,
        )


@dataclass(frozen=True)
class Excluded:
    run_id: str
    project: str
    started_at: str
    status: str
    reason: str
    it_energy_kwh: float


@dataclass(frozen=True)
class SourceUse:
    source: str  # the runs' intensity_source label (with its year)
    licence: str
    runs: int
    facility_energy_kwh: float


@dataclass(frozen=True)
class FactorUse:
    factor: ContractFactor
    facility_energy_kwh: float  # the share of the runs' energy it covered
    market_co2_kg: float


@dataclass(frozen=True)
class EsgReport:
    start: date
    end: date  # included
    project: str | None
    rows: tuple[EsgRow, ...]  # by project, then month
    total: EsgRow
    excluded: tuple[Excluded, ...]
    sources: tuple[SourceUse, ...]
    factors: tuple[FactorUse, ...]
    cloud_runs: int = 0  # runs in a cloud region: Scope 3 for the customer, see methodology


def _exclusion(run: EsgInput) -> str | None:
    if run.status == "running":
        return "still running"
    if run.status == "interrupted":
        return "interrupted: its energy is partial"
    if run.co2_kg is None or run.zone is None:
        return "no zone, so no CO2"
    return None


def _licence(zone: str, label: str) -> str:
    """The licence of the bundled row the run used; a live provider's data is under its own
    terms (the run's source label differs from the bundled row's)."""
    from wattprint.carbon import zones
    from wattprint.errors import ConfigError

    try:
        bundled = zones.intensity(zone)
    except ConfigError:
        return "?"
    return bundled.licence or "?" if bundled.label == label else "the live provider's terms"


def run_row(run: EsgInput, factors: list[ContractFactor]) -> tuple[EsgRow, list[FactorUse]]:
    """One run's contribution, and what each factor covering it did."""
    facility = run.energy_kwh * run.pue
    location = run.co2_kg or 0.0
    day = date.fromisoformat(run.started_at[:10])
    used = [f for f in factors if f.covers(run.zone, day)]
    covered = sum(f.share_pct for f in used) / 100
    uses = [
        FactorUse(
            f,
            facility * f.share_pct / 100,
            facility * f.share_pct / 100 * f.g_per_kwh / 1000,
        )
        for f in used
    ]
    market = sum(u.market_co2_kg for u in uses) + (1 - covered) * location
    measured = run.energy_kwh * run.measured_fraction
    band = run.energy_kwh * run.uncertainty_pct / 100
    row = EsgRow(
        run.project,
        run.started_at[:7],
        1,
        run.energy_kwh,
        facility,
        location,
        market,
        measured,
        band * band,
        band,
    )
    return row, uses


def esg_report(
    runs: list[EsgInput] | list[Run],
    start: date,
    end: date,
    project: str | None = None,
    factors: list[ContractFactor] | None = None,
) -> EsgReport:
    """The period's figures from ``runs`` (already selected: started in [start, end], of
    ``project`` if given; records or the store's lighter rows)."""
    factors = factors or []
    licences: dict[tuple[str, str], str] = {}
    by_key: dict[tuple[str, str], EsgRow] = {}
    excluded: list[Excluded] = []
    sources: dict[tuple[str, str], SourceUse] = {}
    factor_use: dict[int, FactorUse] = {}
    cloud = 0
    for item in runs:
        run = EsgInput.of_run(item) if isinstance(item, Run) else item
        reason = _exclusion(run)
        if reason is not None:
            excluded.append(
                Excluded(
                    run.run_id, run.project, run.started_at, run.status, reason, run.energy_kwh
                )
            )
            continue
        row, uses = run_row(run, factors)
        key = (row.project, row.month)
        by_key[key] = by_key[key] + row if key in by_key else row
        assert run.zone is not None
        cloud += ":" in run.zone
        label = run.intensity_source or "?"
        if (run.zone, label) not in licences:
            licences[(run.zone, label)] = _licence(run.zone, label)
        skey = (label, licences[(run.zone, label)])
        old = sources.get(skey)
        sources[skey] = SourceUse(
            label,
            skey[1],
            (old.runs if old else 0) + 1,
            (old.facility_energy_kwh if old else 0.0) + row.facility_energy_kwh,
        )
        for u in uses:
            prev = factor_use.get(id(u.factor))
            factor_use[id(u.factor)] = FactorUse(
                u.factor,
                (prev.facility_energy_kwh if prev else 0.0) + u.facility_energy_kwh,
                (prev.market_co2_kg if prev else 0.0) + u.market_co2_kg,
            )
    rows = tuple(by_key[k] for k in sorted(by_key))
    total = EsgRow("all projects", "", 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for r in rows:
        total = total + r
    return EsgReport(
        start,
        end,
        project,
        rows,
        total,
        tuple(excluded),
        tuple(sorted(sources.values(), key=lambda s: -s.facility_energy_kwh)),
        tuple(sorted(factor_use.values(), key=lambda u: u.factor.line)),
        cloud,
    )
