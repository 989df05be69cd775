"""Chooses the best sensor for each component on this machine, and says why.

Order per component: hardware energy counter, then model. Whatever is not available is
listed with the reason, so ``wattprint devices`` can tell a user how to get a better method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from wattprint.errors import (
    SensorError,
    SensorPermissionError,
    SensorUnavailableError,
)
from wattprint.sensors import cpu_db
from wattprint.sensors.base import Component, Sensor
from wattprint.sensors.cgroup import CgroupCpu, read_cgroup_cpu
from wattprint.sensors.cpu_model import (
    CpuModelSensor,
    CpuPowerSpec,
    resolve_cpu_power,
)
from wattprint.sensors.cpuinfo import CpuInfo, read_cpuinfo
from wattprint.sensors.diskstats import DiskStatsReader
from wattprint.sensors.procfs import ProcFS
from wattprint.sensors.ram_model import RamModelSensor
from wattprint.sensors.rapl import RaplSensor, discover_rapl, powercap_dir
from wattprint.sensors.storage_model import discover_storage
from wattprint.sensors.usage import cpu_capacity

if TYPE_CHECKING:
    from wattprint.settings import Settings


@dataclass(frozen=True)
class HardwareOptions:
    """Where to look and what the user overrides. Paths are configurable for containers with
    bind-mounted sysfs, and for tests."""

    powercap_dir: Path | None = None  # default: /sys/class/powercap
    proc_dir: Path = Path("/proc")
    sys_dir: Path = Path("/sys")
    cgroup_root: Path = Path("/sys/fs/cgroup")
    cpu_tdp_w: float | None = None  # default: from the CPU database
    cpu_model: str | None = None  # default: the detected model
    storage: bool = True
    network: bool = False  # the optional network component (machine scope only)
    gpu: bool = True
    gpu_ids: tuple[int | str, ...] | None = None  # within CUDA_VISIBLE_DEVICES; None: all
    # The visible-devices variables to use instead of this process's: a multi-node job's
    # measuring rank sees the GPUs allocated on its node (SLURM_STEP_GPUS), not only its own.
    gpu_environ: Mapping[str, str] | None = None

    def with_settings(self, settings: Settings) -> HardwareOptions:
        """These options with the user's settings filled in where they say nothing."""
        return replace(
            self,
            powercap_dir=self.powercap_dir or Path(settings.powercap_dir),
            cpu_tdp_w=settings.cpu_tdp_w if settings.cpu_tdp_w is not None else self.cpu_tdp_w,
            cpu_model=settings.cpu_model or self.cpu_model,
            gpu_ids=settings.gpu_ids if settings.gpu_ids is not None else self.gpu_ids,
            network=self.network or settings.network,
        )


@dataclass(frozen=True)
class Unavailable:
    """A better method that could not be used here, and why."""

    component: Component
    method: str
    reason: str


@dataclass
class Discovery:
    sensors: list[Sensor]
    unavailable: list[Unavailable]
    cpu: CpuInfo
    cgroup: CgroupCpu
    capacity_cpus: float
    disk_reader: DiskStatsReader | None
    warnings: list[str] = field(default_factory=list)

    @property
    def busy_cgroup(self) -> CgroupCpu | None:
        """Whose busy CPU time is the "machine" for attribution: the quota'd cgroup when the CPU
        is modelled on its share, the host (None) when RAPL measures whole packages — else a
        job that fills its container would be billed the other tenants' package energy."""
        uses_rapl = any(
            isinstance(s, RaplSensor) and s.zone.component is Component.CPU for s in self.sensors
        )
        return None if uses_rapl else self.cgroup


def _db_lookup(name: str) -> tuple[str, float, int | None] | None:
    spec = cpu_db.lookup(name)
    return None if spec is None else (spec.name, spec.tdp_w, spec.cores)


def discover(opts: HardwareOptions = HardwareOptions(), *, gpu: bool = True) -> Discovery:
    cpu = read_cpuinfo(opts.proc_dir)
    cgroup = read_cgroup_cpu(0, opts.proc_dir, opts.cgroup_root)
    capacity = cpu_capacity(cpu.logical_cpus, cgroup)
    sensors: list[Sensor] = []
    unavailable: list[Unavailable] = []
    warnings: list[str] = []

    root = powercap_dir(opts.powercap_dir)
    rapl: list[Sensor] = []
    try:
        rapl = list(discover_rapl(root, cpu.vendor))
    except SensorPermissionError as exc:
        unavailable.append(Unavailable(Component.CPU, "rapl-powercap", str(exc)))
        warnings.append(str(exc))
    except SensorUnavailableError as exc:
        unavailable.append(Unavailable(Component.CPU, "rapl-powercap", str(exc)))
    except SensorError as exc:  # e.g. EIO: the MSR read failed (offline CPUs, hypervisors)
        msg = f"RAPL counters present but unreadable ({exc}); using the CPU model"
        unavailable.append(Unavailable(Component.CPU, "rapl-powercap", msg))
        warnings.append(msg)

    cpu_rapl = [s for s in rapl if s.info.component is Component.CPU]
    if cpu_rapl and capacity < cpu.logical_cpus:
        # RAPL covers whole packages; in a CPU-limited cgroup the process share still applies,
        # but machine scope would bill the whole host.
        warnings.append(
            "RAPL measures whole CPU packages and this cgroup may use "
            f"{capacity:g} of {cpu.logical_cpus} CPUs: scope='machine' bills the whole "
            "packages, scope='process' (default) this job's share of the host's CPU time"
        )
    if cpu_rapl:
        sensors.extend(cpu_rapl)
    else:
        resolve = partial(_resolve, cpu, capacity, opts.cpu_tdp_w, opts.cpu_model)
        sensors.append(CpuModelSensor(resolve))

    dram = [s for s in rapl if s.info.component is Component.RAM]
    if dram:
        sensors.extend(dram)
    else:
        if cpu_rapl:
            unavailable.append(
                Unavailable(
                    Component.RAM,
                    "rapl-powercap",
                    "no dram zone under the RAPL packages (client CPUs and AMD expose none)",
                )
            )
        procfs = ProcFS(opts.proc_dir)
        try:
            sensors.append(RamModelSensor(procfs.machine_mem_total_b()))
        finally:
            procfs.close()

    if opts.network:
        from wattprint.sensors.network_model import NetworkModelSensor

        sensors.append(NetworkModelSensor(opts.proc_dir))

    reader: DiskStatsReader | None = None
    if opts.storage:
        reader = DiskStatsReader(opts.proc_dir, opts.sys_dir)
        storage = discover_storage(reader)
        if storage:
            sensors.extend(storage)
        else:
            reader.close()
            reader = None
            unavailable.append(
                Unavailable(
                    Component.STORAGE, "disk-io-model", "no whole physical block devices found"
                )
            )
    if gpu and opts.gpu:
        from wattprint.sensors.gpu import discover_gpus

        gpu_sensors, reasons = discover_gpus(opts.gpu_ids, opts.gpu_environ)
        if any(
            s.component is Component.CPU or s.info.component is Component.CPU for s in gpu_sensors
        ):
            # Apple's powermetrics measures the CPU too: it replaces the CPU model.
            sensors[:] = [s for s in sensors if not isinstance(s, CpuModelSensor)]
        sensors.extend(gpu_sensors)
        unavailable.extend(
            Unavailable(Component.GPU, "nvml / amdsmi / powermetrics", r) for r in reasons
        )
    return Discovery(sensors, unavailable, cpu, cgroup, capacity, reader, warnings)


def _resolve(cpu: CpuInfo, capacity: float, tdp_w: float | None, model: str | None) -> CpuPowerSpec:
    return resolve_cpu_power(
        cpu, capacity, tdp_override_w=tdp_w, model_override=model, lookup=_db_lookup
    )
