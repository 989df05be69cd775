"""CPU power model for machines without readable energy counters.

power_w = idle_w + (max_w - idle_w) x utilisation, where utilisation is busy CPU *time* over
the interval divided by the CPU time available (all logical CPUs, or the cgroup quota), and
max_w is the TDP share of those CPUs. See docs/methods/cpu.md for the figures and their bands.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage
from wattprint.sensors.cpuinfo import CpuInfo
from wattprint.settings import env_name

ENV_CPU_TDP_W = env_name("cpu_tdp_w")
ENV_CPU_MODEL = env_name("cpu_model")

#: Power of one logical CPU at full load when the CPU model is unknown. Server and desktop
#: parts span ~2-8 W per thread (EPYC 7763: 280 W / 128 = 2.2; Xeon Gold 6248: 150 W / 40 =
#: 3.75; Xeon E5-2686 v4: 145 W / 36 = 4.0; Core i7-8700K: 95 W / 12 = 7.9), hence a wide band.
GENERIC_W_PER_THREAD = 5.0
GENERIC_UNCERTAINTY_PCT = 70.0
#: Package power at idle as a fraction of full-load power. SPECpower-derived cloud coefficients
#: (Cloud Carbon Footprint: 0.74 W min vs 3.5 W max per vCPU) give ~0.2.
IDLE_FRACTION = 0.2
MATCHED_UNCERTAINTY_PCT = 25.0
MATCHED_VM_UNCERTAINTY_PCT = 40.0
OVERRIDE_UNCERTAINTY_PCT = 25.0


@dataclass(frozen=True)
class CpuPowerSpec:
    """How the model's power figures were chosen."""

    reported_name: str
    matched_name: str | None  # database row, None when generic or overridden by a TDP
    basis: str  # "database" | "override" | "generic"
    tdp_w: float | None  # TDP of one package, when known
    w_per_thread: float  # full-load power of one logical CPU
    capacity_cpus: float  # CPUs' worth of time we may use (logical CPUs or cgroup quota)
    uncertainty_pct: float
    notes: tuple[str, ...]
    warning: str | None = None  # shown once per run: how to get a better estimate

    @property
    def max_power_w(self) -> float:
        return self.w_per_thread * self.capacity_cpus

    @property
    def idle_power_w(self) -> float:
        return IDLE_FRACTION * self.max_power_w


def override_hint() -> str:
    return (
        f"set Tracker(cpu_tdp_w=...), {ENV_CPU_TDP_W}=<W per package> or "
        f"{ENV_CPU_MODEL}=<model name> to override"
    )


def resolve_cpu_power(
    cpu: CpuInfo,
    capacity_cpus: float,
    *,
    tdp_override_w: float | None = None,
    model_override: str | None = None,
    lookup: Callable[[str], tuple[str, float, int | None] | None] | None = None,
) -> CpuPowerSpec:
    """Choose the model's figures. ``lookup(name) -> (matched name, tdp_w, cores) | None``."""
    name = model_override or cpu.model_name
    threads_per_package = cpu.logical_cpus / cpu.sockets
    notes: list[str] = []
    if tdp_override_w is not None:
        if cpu.virtualised:
            notes.append(
                "in a VM, cpu_tdp_w is taken as the full-load power of this VM's vCPUs "
                "(the host TDP x vCPUs / host threads)"
            )
        return CpuPowerSpec(
            name,
            None,
            "override",
            tdp_override_w,
            tdp_override_w / threads_per_package,
            capacity_cpus,
            OVERRIDE_UNCERTAINTY_PCT,
            tuple(notes),
        )
    match = lookup(name) if lookup is not None else None
    if match is not None:
        matched, tdp_w, cores = match
        if not cpu.virtualised:
            return CpuPowerSpec(
                name,
                matched,
                "database",
                tdp_w,
                tdp_w / threads_per_package,
                capacity_cpus,
                MATCHED_UNCERTAINTY_PCT,
                (),
            )
        if cores:
            notes.append(
                f"VM: the TDP is shared over {2 * cores} host threads "
                "(assuming SMT, as cloud vCPUs are hyperthreads)"
            )
            return CpuPowerSpec(
                name,
                matched,
                "database",
                tdp_w,
                tdp_w / (2 * cores),
                capacity_cpus,
                MATCHED_VM_UNCERTAINTY_PCT,
                tuple(notes),
            )
        warning = (
            f"CPU {matched!r} (TDP {tdp_w:g} W) matched, but in a VM its thread count is "
            f"needed to know this VM's share and the database lacks it: estimating "
            f"{GENERIC_W_PER_THREAD:g} W per vCPU (±{GENERIC_UNCERTAINTY_PCT:g} %); set "
            f"Tracker(cpu_tdp_w=...) or {ENV_CPU_TDP_W} to the full-load power of this VM's "
            f"vCPUs ({tdp_w:g} W x vCPUs / host threads)"
        )
    elif cpu.virtualised:
        warning = (
            f"CPU {name!r} in a VM names no known model: estimating "
            f"{GENERIC_W_PER_THREAD:g} W per vCPU (±{GENERIC_UNCERTAINTY_PCT:g} %); set "
            f"Tracker(cpu_tdp_w=...) or {ENV_CPU_TDP_W} to the full-load power of this VM's "
            "vCPUs (host TDP x vCPUs / host threads)"
        )
    else:
        warning = (
            f"CPU {name!r} has no known TDP: estimating {GENERIC_W_PER_THREAD:g} W per logical "
            f"CPU (±{GENERIC_UNCERTAINTY_PCT:g} %); {override_hint()}"
        )
    notes.append(warning)
    return CpuPowerSpec(
        name,
        match[0] if match else None,
        "generic",
        match[1] if match else None,
        GENERIC_W_PER_THREAD,
        capacity_cpus,
        GENERIC_UNCERTAINTY_PCT,
        tuple(notes),
        warning,
    )


class CpuModelSensor(Sensor):
    """Estimated CPU energy from busy CPU time; the power figures are resolved lazily (the
    database lookup runs on the sampler thread, not in ``start()``)."""

    component = Component.CPU

    def __init__(self, resolve: Callable[[], CpuPowerSpec]) -> None:
        self._resolve = resolve

    @cached_property
    def spec(self) -> CpuPowerSpec:
        return self._resolve()

    @cached_property
    def info(self) -> SensorInfo:  # type: ignore[override]
        s = self.spec
        device = s.matched_name or s.reported_name
        details: dict[str, object] = {
            "reported_name": s.reported_name,
            "matched_name": s.matched_name,
            "basis": s.basis,
            "tdp_w": s.tdp_w,
            "w_per_thread": s.w_per_thread,
            "capacity_cpus": s.capacity_cpus,
            "max_power_w": s.max_power_w,
            "idle_power_w": s.idle_power_w,
        }
        return SensorInfo(
            Component.CPU,
            device,
            f"tdp-model ({s.basis})",
            Provenance.ESTIMATED,
            s.uncertainty_pct,
            s.notes,
            details,
            s.warning,
        )

    def begin(self, usage: Usage) -> None:
        if usage.machine_busy_cpu_s is None:
            raise SensorUnavailableError("no CPU time counters on this platform")

    def step(self, prev: Usage, cur: Usage) -> Step:
        dt_s = cur.t_s - prev.t_s
        if cur.machine_busy_cpu_s is None or prev.machine_busy_cpu_s is None:
            return Step(0.0, gap="CPU time unreadable")
        if dt_s <= 0:
            return Step(0.0)
        busy_s = max(0.0, cur.machine_busy_cpu_s - prev.machine_busy_cpu_s)
        spec = self.spec
        utilisation = min(1.0, busy_s / (dt_s * spec.capacity_cpus))
        power_w = spec.idle_power_w + (spec.max_power_w - spec.idle_power_w) * utilisation
        return Step(power_w * dt_s if math.isfinite(power_w) else 0.0)
