"""resolve_cpu_power (how the TDP model's figures are chosen) and CpuModelSensor.step.

``lookup`` stands in for the bundled database at its call boundary: name -> (matched name,
TDP W, cores) or None.
"""

from __future__ import annotations

import pytest

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component, Provenance, Usage
from wattprint.sensors.cpu_model import (
    GENERIC_UNCERTAINTY_PCT,
    GENERIC_W_PER_THREAD,
    IDLE_FRACTION,
    MATCHED_UNCERTAINTY_PCT,
    MATCHED_VM_UNCERTAINTY_PCT,
    OVERRIDE_UNCERTAINTY_PCT,
    CpuModelSensor,
    CpuPowerSpec,
    resolve_cpu_power,
)
from wattprint.sensors.cpuinfo import CpuInfo

GOLD = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"


def _db(cores: int | None = 20) -> dict[str, tuple[str, float, int | None]]:
    return {GOLD: ("Intel Xeon Gold 6248", 150.0, cores), "EPYC 7763": ("AMD EPYC 7763", 280.0, 64)}


class _Lookup:
    """The database lookup, recording the names it was asked for."""

    def __init__(self, db: dict[str, tuple[str, float, int | None]]) -> None:
        self.db = db
        self.calls: list[str] = []

    def __call__(self, name: str) -> tuple[str, float, int | None] | None:
        self.calls.append(name)
        return self.db.get(name)


def _cpu(name: str = GOLD, *, sockets: int = 2, logical: int = 80, vm: bool = False) -> CpuInfo:
    return CpuInfo(name, "intel", sockets, logical, vm)


# -- resolve_cpu_power -----------------------------------------------------------------------
def test_bare_metal_match_splits_tdp_over_a_package_threads() -> None:
    spec = resolve_cpu_power(_cpu(sockets=2, logical=80), 80.0, lookup=_Lookup(_db()))
    assert spec.basis == "database"
    assert spec.matched_name == "Intel Xeon Gold 6248"
    assert spec.reported_name == GOLD
    assert spec.tdp_w == 150.0
    assert spec.w_per_thread == pytest.approx(150.0 / 40)
    assert spec.max_power_w == pytest.approx(300.0)  # both packages at full load
    assert spec.idle_power_w == pytest.approx(IDLE_FRACTION * 300.0)
    assert spec.uncertainty_pct == MATCHED_UNCERTAINTY_PCT
    assert spec.notes == ()


def test_capacity_scales_max_power() -> None:
    spec = resolve_cpu_power(_cpu(sockets=2, logical=80), 4.0, lookup=_Lookup(_db()))
    assert spec.capacity_cpus == 4.0
    assert spec.max_power_w == pytest.approx(4 * 3.75)


def test_vm_match_with_cores_assumes_smt_host() -> None:
    spec = resolve_cpu_power(_cpu(sockets=1, logical=4, vm=True), 4.0, lookup=_Lookup(_db(20)))
    assert spec.basis == "database"
    assert spec.matched_name == "Intel Xeon Gold 6248"
    assert spec.w_per_thread == pytest.approx(150.0 / (2 * 20))  # not 150 / 4 vCPUs
    assert spec.uncertainty_pct == MATCHED_VM_UNCERTAINTY_PCT
    assert any("40 host threads" in n for n in spec.notes)


def test_vm_match_without_cores_is_generic() -> None:
    spec = resolve_cpu_power(_cpu(sockets=1, logical=4, vm=True), 4.0, lookup=_Lookup(_db(None)))
    assert spec.basis == "generic"
    assert spec.w_per_thread == GENERIC_W_PER_THREAD
    assert spec.matched_name == "Intel Xeon Gold 6248"
    assert spec.tdp_w == 150.0
    assert spec.uncertainty_pct == GENERIC_UNCERTAINTY_PCT
    assert spec.warning is not None and "database lacks it" in spec.warning
    assert "150 W x vCPUs / host threads" in spec.warning


def test_override_wins_and_skips_the_database() -> None:
    lookup = _Lookup(_db())
    spec = resolve_cpu_power(_cpu(sockets=2, logical=16), 16.0, tdp_override_w=100.0, lookup=lookup)
    assert spec.basis == "override"
    assert spec.matched_name is None
    assert spec.tdp_w == 100.0
    assert spec.w_per_thread == pytest.approx(100.0 / 8)
    assert spec.uncertainty_pct == OVERRIDE_UNCERTAINTY_PCT
    assert spec.notes == ()
    assert lookup.calls == []


def test_override_in_a_vm_says_how_it_is_split() -> None:
    spec = resolve_cpu_power(_cpu(sockets=1, logical=2, vm=True), 2.0, tdp_override_w=20.0)
    assert spec.basis == "override"
    assert spec.w_per_thread == pytest.approx(10.0)
    assert len(spec.notes) == 1
    assert "VM" in spec.notes[0]


def test_model_override_is_what_is_looked_up() -> None:
    lookup = _Lookup(_db())
    spec = resolve_cpu_power(
        _cpu("Intel Xeon Processor", sockets=1, logical=8),
        8.0,
        model_override="EPYC 7763",
        lookup=lookup,
    )
    assert lookup.calls == ["EPYC 7763"]
    assert spec.reported_name == "EPYC 7763"
    assert spec.matched_name == "AMD EPYC 7763"
    assert spec.w_per_thread == pytest.approx(280.0 / 8)


@pytest.mark.parametrize("lookup_db", [{}, None])
def test_unknown_cpu_is_generic(lookup_db: dict[str, tuple[str, float, int | None]] | None) -> None:
    lookup = None if lookup_db is None else _Lookup(lookup_db)
    spec = resolve_cpu_power(_cpu("Intel Xeon Processor", sockets=1, logical=2), 2.0, lookup=lookup)
    assert spec.basis == "generic"
    assert spec.matched_name is None
    assert spec.tdp_w is None
    assert spec.w_per_thread == GENERIC_W_PER_THREAD
    assert spec.max_power_w == pytest.approx(2 * GENERIC_W_PER_THREAD)
    assert spec.uncertainty_pct == GENERIC_UNCERTAINTY_PCT
    assert len(spec.notes) == 1
    assert "'Intel Xeon Processor'" in spec.notes[0]
    assert "WATTPRINT_CPU_TDP_W" in spec.notes[0]


# -- the sensor ------------------------------------------------------------------------------
def _spec(
    basis: str = "database", capacity: float = 4.0, w_per_thread: float = 5.0
) -> CpuPowerSpec:
    return CpuPowerSpec(
        reported_name="Reported CPU",
        matched_name=None if basis != "database" else "Matched CPU",
        basis=basis,
        tdp_w=None if basis == "generic" else 40.0,
        w_per_thread=w_per_thread,
        capacity_cpus=capacity,
        uncertainty_pct=GENERIC_UNCERTAINTY_PCT if basis == "generic" else 25.0,
        notes=("a note",),
    )


def _sensor(spec: CpuPowerSpec) -> CpuModelSensor:
    return CpuModelSensor(lambda: spec)


def _u(t_s: float, busy_s: float | None) -> Usage:
    return Usage(t_s, machine_busy_cpu_s=busy_s)


@pytest.mark.parametrize(
    ("busy_delta_s", "utilisation"),
    [(0.0, 0.0), (2.0, 0.5), (4.0, 1.0), (10.0, 1.0), (-3.0, 0.0)],
)
def test_step_power_is_idle_plus_dynamic_times_utilisation(
    busy_delta_s: float, utilisation: float
) -> None:
    # 4 CPUs x 5 W = 20 W at full load, 4 W idle; 1 s interval.
    step = _sensor(_spec()).step(_u(10.0, 100.0), _u(11.0, 100.0 + busy_delta_s))
    assert step.gap is None
    assert step.energy_j == pytest.approx(4.0 + 16.0 * utilisation)


def test_step_scales_with_interval() -> None:
    step = _sensor(_spec()).step(_u(10.0, 100.0), _u(12.5, 105.0))  # 2.5 s, 5 of 10 CPU-s
    assert step.energy_j == pytest.approx((4.0 + 16.0 * 0.5) * 2.5)


@pytest.mark.parametrize("dt_s", [0.0, -1.0])
def test_step_without_elapsed_time_is_zero(dt_s: float) -> None:
    step = _sensor(_spec()).step(_u(10.0, 100.0), _u(10.0 + dt_s, 101.0))
    assert step.energy_j == 0.0
    assert step.gap is None


@pytest.mark.parametrize(("prev", "cur"), [(None, 1.0), (1.0, None), (None, None)])
def test_step_with_missing_counters_is_a_gap(prev: float | None, cur: float | None) -> None:
    step = _sensor(_spec()).step(_u(10.0, prev), _u(11.0, cur))
    assert step.energy_j == 0.0
    assert step.gap


def test_begin_needs_cpu_time() -> None:
    sensor = _sensor(_spec())
    with pytest.raises(SensorUnavailableError):
        sensor.begin(_u(0.0, None))
    sensor.begin(_u(0.0, 5.0))


def test_spec_is_resolved_lazily_and_once() -> None:
    calls = []

    def resolve() -> CpuPowerSpec:
        calls.append(1)
        return _spec()

    sensor = CpuModelSensor(resolve)
    assert calls == []  # construction (in start()) does not touch the database
    sensor.step(_u(0.0, 0.0), _u(1.0, 1.0))
    sensor.step(_u(1.0, 1.0), _u(2.0, 2.0))
    assert sensor.info.device == "Matched CPU"
    assert calls == [1]


@pytest.mark.parametrize("basis", ["database", "override"])
def test_no_warning_unless_generic(basis: str) -> None:
    info = _sensor(_spec(basis)).info
    assert info.warning is None
    assert info.component is Component.CPU
    assert info.provenance is Provenance.ESTIMATED
    assert info.method == f"tdp-model ({basis})"
    assert info.notes == ("a note",)


def test_generic_warns_with_the_band_and_the_override() -> None:
    cpu = _cpu("Reported CPU", sockets=1, logical=4, vm=False)
    info = _sensor(resolve_cpu_power(cpu, 4.0, lookup=_Lookup({}))).info
    assert info.warning is not None
    assert "'Reported CPU'" in info.warning
    assert "70" in info.warning
    assert "WATTPRINT_CPU_TDP_W" in info.warning
    assert info.device == "Reported CPU"
    assert info.uncertainty_pct == GENERIC_UNCERTAINTY_PCT
    assert info.details["basis"] == "generic"
    assert info.details["max_power_w"] == pytest.approx(20.0)
    assert info.details["idle_power_w"] == pytest.approx(4.0)
