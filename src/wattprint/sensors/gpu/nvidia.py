"""NVIDIA GPUs through NVML (``nvidia-ml-py``): discovery, and :class:`NvidiaSensor` for one GPU.

Calls into NVML go through ``nvml_api.py`` (session, typed errors, field reads); which GPUs a
job uses follows ``CUDA_VISIBLE_DEVICES`` and ``gpu_ids`` (``visible.py``); the per-process
share follows ``share.py``. ``pynvml`` is imported on the first discovery, never by ``import
wattprint``.

Energy, best first (NVML API Reference, "Device Queries"):

- ``nvmlDeviceGetTotalEnergyConsumption``: millijoules "since the driver was last reloaded",
  Volta and newer. Nothing between reads is lost; it goes backwards only when the driver is
  reloaded (a gap, never a negative value). On A100/H100 the power reading covers only ~25 % of
  the time (Yang et al., SC24), so this counter is always preferred.
- Older boards raise NotSupported: power (``NVML_FI_DEV_POWER_INSTANT`` where the driver has the
  field, else ``nvmlDeviceGetPowerUsage``, mW) integrated with the trapezoid rule. The reading
  changes only every update period, detected at discovery by polling for at most 0.5 s (only on
  boards without the counter) and used as ``max_interval_s``, so the sampler sees every value.

Uncertainty: the NVML reference gives power readings "accurate to within +/- 5% of current
power draw" (``nvmlDeviceGetPowerUsage``; stated for Fermi and Kepler, no later figure is
published), so 5 % for the counter; integrated readings add the sampling error: 10 %, 15 % for
a 1 s average or an undetected update period.

On Grace superchips (GH200, GB200: ``NVML_POWER_SCOPE_MODULE`` answers) the counter covers the
whole module, Grace CPU and memory included (ml-energy/zeus#172), so ``info.details
["power_scope"]`` is "module" and a warning says CPU/RAM sensors may count that energy twice.

Attribution (``scope="process"``): the tree's share among the GPU's compute and graphics
processes, by per-process SM utilisation (``nvmlDeviceGetProcessUtilization``) when shared; in
a container, by the GPU's ``/dev/nvidiaN``. The share is re-asked of NVML every 5 s and
whenever the tree changes (process queries cost milliseconds).

A GPU that is lost (NVML: GpuIsLost) raises GpuLostError from then on, without asking NVML.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wattprint.errors import GpuLostError, SensorError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage
from wattprint.sensors.gpu.nvml_api import (
    NvmlSession,
    has_instant_power,
    import_pynvml,
    init_reason,
    is_error,
    mig_uuids,
    module_scope,
    power_mw,
    power_usage_averaged,
    process_samples,
    running_pids,
    text,
    typed_error,
)
from wattprint.sensors.gpu.share import (
    NVIDIA_DEVICE,
    gpu_share,
    holds_device,
    other_namespace,
)
from wattprint.sensors.gpu.visible import (
    ENV_VISIBLE,
    GpuId,
    Pick,
    apply_gpu_ids,
    by_gpu,
    visible_devices,
)

__all__ = [
    "NOT_INSTALLED",
    "GpuFacts",
    "GpuLostError",
    "NvidiaSensor",
    "detect_update_period_s",
    "discover_nvidia",
]

NOT_INSTALLED = "nvidia-ml-py not installed (pip install 'wattprint[nvidia]')"
DETECT_BUDGET_S = 0.5
MIN_PERIOD_S = 0.02
COUNTER_UNCERTAINTY_PCT = 5.0
INTEGRATED_UNCERTAINTY_PCT = 10.0
COARSE_UNCERTAINTY_PCT = 15.0
DEFAULT_UPDATE_PERIOD_S = 0.1  # when detection sees too few changes (older boards: 10-20 Hz)
FALLBACK_POWER_LIMIT_W = 1000.0
PLAUSIBLE_FACTOR = 3.0  # a counter jump above 3x the power limit is a reset, not energy
SHARE_RECHECK_S = 5.0  # how long a GPU share is reused (same tree)
MODULE_NOTE = (
    "module power scope (Grace superchip): NVML's energy covers the whole module, Grace CPU and "
    "memory included, so CPU and RAM energy may be counted twice; read the GPU row as the module"
)
NAMESPACE_NOTE = (
    "NVML lists host pids, none of them in this PID namespace (container): the GPU's only "
    "process is taken to be this job's, since the job holds the GPU's device file open"
)
COUNT_NOTE = "GPU shared with other processes: split by process count (no per-process utilisation)"
Timing = tuple[Callable[[], float], Callable[[float], None]]  # (clock, sleep)


@dataclass(frozen=True)
class GpuFacts:
    """What discovery learnt about one GPU."""

    pick: Pick
    name: str
    driver_version: str | None
    power_limit_w: float | None = None
    counter: bool = True  # nvmlDeviceGetTotalEnergyConsumption works
    module: bool = False  # NVML_POWER_SCOPE_MODULE answers (Grace superchip)
    instant_field: bool = False  # integration reads NVML_FI_DEV_POWER_INSTANT
    averaged: bool | None = False  # nvmlDeviceGetPowerUsage is a 1 s average (None: may be)
    update_period_s: float | None = None
    minor: int | None = None  # N of /dev/nvidiaN
    notes: tuple[str, ...] = ()


class NvidiaSensor(Sensor):
    """One physical NVIDIA GPU."""

    component = Component.GPU
    slow = False  # the counter is cheap to read, and integration needs every update

    def __init__(self, nvml: NvmlSession, handle: Any, facts: GpuFacts, proc_dir: Path) -> None:
        self._nvml, self._nv, self._handle, self.facts = nvml, nvml.module, handle, facts
        self._proc_dir = proc_dir
        nvml.acquire()
        self._held = True
        gpu = facts.pick.gpu
        self.label = f"GPU {gpu.index} {facts.name} ({gpu.uuid[:12]})"
        self._limit_w = PLAUSIBLE_FACTOR * (facts.power_limit_w or FALLBACK_POWER_LIMIT_W)
        self._last: float | None = None  # mJ (counter) or W (power)
        self._last_t_s = 0.0
        self._lost: str | None = None
        self._util_ok = True
        self._util_seen_us = 0
        self._busy_ok = True
        self._busy_s = 0.0
        self._observed_s = 0.0
        self._share_cache: tuple[frozenset[int], float, float | None] | None = None
        period_s = facts.update_period_s or DEFAULT_UPDATE_PERIOD_S
        self.max_interval_s = float("inf") if facts.counter else period_s
        self.info = self._make_info(period_s)

    def _make_info(self, period_s: float) -> SensorInfo:
        f, gpu = self.facts, self.facts.pick.gpu
        notes = list(f.notes)
        details: dict[str, object] = dict(
            index=gpu.index, cuda_index=f.pick.cuda_index, uuid=gpu.uuid, name=f.name,
            driver_version=f.driver_version, power_limit_w=f.power_limit_w,
            power_scope="module" if f.module else "gpu", attribution=None,
        )  # fmt: skip
        if f.pick.via_mig:
            details["mig"] = list(f.pick.via_mig)
            notes.append(
                f"{ENV_VISIBLE} names MIG instance(s) {', '.join(f.pick.via_mig)}: NVML measures "
                "the whole GPU, so this is the energy of every instance on it"
            )
        notes += [MODULE_NOTE] if f.module else []
        warning = f"{self.label}: {MODULE_NOTE}" if f.module else None
        if f.counter:
            how, provenance, pct = "nvml-total-energy", Provenance.MEASURED, COUNTER_UNCERTAINTY_PCT
        else:
            reading = "NVML_FI_DEV_POWER_INSTANT" if f.instant_field else "nvmlDeviceGetPowerUsage"
            details.update(update_period_s=period_s, power_reading=reading)
            detected = "detected" if f.update_period_s else "assumed: no change seen in 0.5 s"
            notes.append(
                f"no energy counter (NVML has one on Volta and newer): {reading} integrated with "
                f"the trapezoid rule every {period_s:g} s (its update period, {detected})"
                + {True: "; the reading is a 1 s average", None: "; it may be a 1 s average"}.get(
                    f.averaged, ""
                )
            )
            coarse = f.averaged is not False or f.update_period_s is None
            how, provenance = "nvml-power-integration", Provenance.INTEGRATED
            pct = COARSE_UNCERTAINTY_PCT if coarse else INTEGRATED_UNCERTAINTY_PCT
            if coarse and warning is None and f.averaged is not False:
                warning = (
                    f"{self.label} has no energy counter and its power reading may be a 1 s "
                    "average that samples only part of the time (on A100/H100 about 25 %, Yang "
                    f"et al., SC24): bursty loads and short windows are uncertain (±{pct:g} %)"
                )
            elif coarse and warning is None:
                warning = (
                    f"{self.label} has no energy counter and its power reading did not change "
                    f"while probed, so its update period is assumed ({period_s:g} s): the "
                    f"integrated energy is uncertain (±{pct:g} %)"
                )
        return SensorInfo(
            Component.GPU, self.label, how, provenance, pct, tuple(notes), details, warning
        )

    # -- readings --------------------------------------------------------------------------
    def _error(self, exc: Exception, what: str) -> SensorError:
        error = typed_error(self._nv, exc, self.label, what)
        if isinstance(error, GpuLostError):  # every later read raises it without asking NVML
            self._lost = str(error)
        return error

    def read(self) -> float:
        """The counter (mJ) or the power (W) now. Raises SensorError."""
        if self._lost is not None:
            raise GpuLostError(self._lost)
        nv, h = self._nv, self._handle
        try:
            if self.facts.counter:
                return float(nv.nvmlDeviceGetTotalEnergyConsumption(h))
            return power_mw(nv, h, self.facts.instant_field) / 1000
        except nv.NVMLError as exc:
            raise self._error(exc, "the energy counter" if self.facts.counter else "power") from exc

    def begin(self, usage: Usage) -> None:
        nv = self._nv
        if not self._held:  # reused after close(): NVML may have shut down, handles with it
            try:
                self._nvml.acquire()
                self._held = True
                self._handle = nv.nvmlDeviceGetHandleByUUID(self.facts.pick.gpu.uuid)
            except nv.NVMLError as exc:
                raise self._error(exc, "the device") from exc
        self._lost, self._share_cache = None, None
        self._last, self._last_t_s = self.read(), usage.t_s
        if usage.pids is not None and self._util_ok:
            self._util_seen_us = 0
            samples = self._util_samples()
            self._util_seen_us = max((s.timeStamp for s in samples or ()), default=0)

    def close(self) -> None:
        if self._held:
            self._held = False
            self._nvml.release()

    def _sample_utilization(self, dt_s: float) -> None:
        """Time-weighted GPU utilisation (nvmlUtilization_t.gpu: share of the last sample
        period with a kernel running), for the "GPU idle most of the run" hint."""
        if not self._busy_ok or dt_s <= 0:
            return
        try:
            pct = float(self._nv.nvmlDeviceGetUtilizationRates(self._handle).gpu)
        except Exception:  # noqa: BLE001 - a hint only: stop asking if the GPU cannot say
            self._busy_ok = False
            return
        self._busy_s += pct / 100 * dt_s
        self._observed_s += dt_s

    @property
    def mean_utilization_pct(self) -> float | None:
        """Average utilisation over the steps so far (None when unknown)."""
        return 100 * self._busy_s / self._observed_s if self._observed_s > 0 else None

    def step(self, prev: Usage, cur: Usage) -> Step:
        value = self.read()  # a failed read raises: the meter marks a gap, we keep the last
        last, last_t_s = self._last, self._last_t_s
        self._last, self._last_t_s = value, cur.t_s
        if last is None:
            return Step(0.0, gap="no baseline reading")
        self._sample_utilization(cur.t_s - last_t_s)
        if not self.facts.counter:
            if last_t_s < prev.t_s:  # reads failed in between: no power known at prev
                return Step(0.0, gap="power readings resumed after failed reads (new baseline)")
            return Step((last + value) / 2 * (cur.t_s - last_t_s))
        if value < last:
            return Step(0.0, gap="energy counter went backwards (driver reloaded?); new baseline")
        energy_j = (value - last) / 1000
        if energy_j / max(cur.t_s - last_t_s, 1.0) > self._limit_w:
            return Step(0.0, gap="energy counter jumped beyond what the GPU can draw (reset?)")
        # After failed reads the counter still holds their energy: this step covers them.
        return Step(energy_j, since_s=last_t_s if last_t_s < prev.t_s else None)

    # -- attribution -----------------------------------------------------------------------
    def _note(self, note: str) -> None:
        if note not in self.info.notes:
            self.info = replace(self.info, notes=(*self.info.notes, note))

    def _split(self, share: float | None, how: str) -> float | None:
        self.info.details["attribution"] = how
        return share

    def _util_samples(self) -> list[Any] | None:
        """Per-process samples newer than the last seen; None: none or unsupported."""
        try:
            return process_samples(self._nv, self._handle, self._util_seen_us)
        except self._nv.NVMLError:  # this GPU cannot say: stop asking
            self._util_ok = False
            return None

    def attribute(self, prev: Usage, cur: Usage) -> float | None:
        """The tree's share (see ``share.gpu_share``), asked of NVML at most every
        ``SHARE_RECHECK_S`` and whenever the tree changes: its process queries cost
        milliseconds. Never raises: the meter calls it outside its error handling."""
        if cur.pids is None:
            return self._split(None, "unknown: no process tree")
        key, cache = frozenset(cur.pids), self._share_cache
        if cache is None or cache[0] != key or cur.t_s - cache[1] >= SHARE_RECHECK_S:
            cache = self._share_cache = (key, cur.t_s, self._share(key))
        return cache[2]

    def _share(self, tree: frozenset[int]) -> float | None:
        nv = self._nv
        try:
            on = running_pids(nv, self._handle)
        except nv.NVMLError as exc:
            return self._split(None, f"unknown: NVML process list unreadable ({exc})")
        util: dict[int, int] | None = None
        shared = bool(on & tree) and not on <= tree
        samples = self._util_samples() if shared and self._util_ok else None
        if samples:
            self._util_seen_us = max(self._util_seen_us, *(s.timeStamp for s in samples))
            util = {}
            for s in samples:
                util[s.pid] = util.get(s.pid, 0) + int(s.smUtil)
        share, how = gpu_share(
            on,
            tree,
            sm_util=util,
            foreign=lambda: other_namespace(self._proc_dir, on),
            holds_device=lambda: holds_device(
                self._proc_dir, tree, NVIDIA_DEVICE, self.facts.minor
            ),
        )
        if how == "process count" and not self._util_ok:
            self._note(COUNT_NOTE)
        if how.startswith("PID namespace"):
            self._note(NAMESPACE_NOTE)
        return self._split(share, how)


# -- discovery ---------------------------------------------------------------------------------
def detect_update_period_s(
    read: Callable[[], float],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    *,
    budget_s: float = DETECT_BUDGET_S,
    poll_s: float = 0.005,
) -> float | None:
    """How often a reading changes: the shortest time between two changes seen while polling
    for ``budget_s``; None when it changed fewer than twice (steady load or slow updates)."""
    start = clock()
    last, changes = read(), []
    while clock() - start < budget_s:
        sleep(poll_s)
        value = read()
        if value != last:
            changes.append(clock())
            last = value
    gaps = [b - a for a, b in itertools.pairwise(changes)]
    return max(MIN_PERIOD_S, round(min(gaps), 4)) if gaps else None


def discover_nvidia(
    *,
    gpu_ids: Sequence[int | str] | None = None,
    environ: Mapping[str, str] | None = None,
    nvml: Any = None,
    proc_dir: Path = Path("/proc"),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Sensor], list[str]]:
    """Sensors for the NVIDIA GPUs this job uses, and why others (or all) are not measured.

    ``gpu_ids``: indices among the GPUs visible under ``CUDA_VISIBLE_DEVICES``, or UUIDs;
    ``nvml``: a stand-in for the ``pynvml`` module (tests); ``clock``/``sleep``: for detecting
    the power update period. Raises ConfigError for bad ``gpu_ids``; hardware problems are
    reasons instead.
    """
    if nvml is None:
        try:
            nvml = import_pynvml()  # lazily: only where a driver is
        except ImportError:
            return [], [NOT_INSTALLED]
    env = os.environ if environ is None else environ
    session = NvmlSession(nvml)
    try:
        session.acquire()
    except nvml.NVMLError as exc:
        return [], [init_reason(nvml, exc)]
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except nvml.NVMLError as exc:
        session.release()  # initialised: shut NVML down again
        return [], [init_reason(nvml, exc)]
    try:  # the sensors hold NVML open until they are closed
        return _discover(session, count, gpu_ids, env, proc_dir, (clock, sleep))
    finally:
        session.release()


def _discover(
    session: NvmlSession,
    count: int,
    gpu_ids: Sequence[int | str] | None,
    env: Mapping[str, str],
    proc_dir: Path,
    timing: Timing,
) -> tuple[list[Sensor], list[str]]:
    nv, value = session.module, env.get(ENV_VISIBLE)
    if count == 0:
        return [], ["no NVIDIA GPUs"]
    want_mig = "MIG-" in (value or "") or any("MIG-" in str(g) for g in gpu_ids or ())
    gpus, handles, reasons = [], [], []
    for i in range(count):
        try:
            handle = nv.nvmlDeviceGetHandleByIndex(i)
            migs = mig_uuids(nv, handle) if want_mig else ()  # looked up only when asked for
            gpus.append(GpuId(i, str(nv.nvmlDeviceGetUUID(handle)), migs))
            handles.append(handle)
        except nv.NVMLError as exc:
            reasons.append(f"GPU {i}: NVML cannot open it ({exc})")
            gpus.append(GpuId(i, ""))  # keeps CUDA's indices in line; matches no UUID
            handles.append(None)
    selection = visible_devices(value, gpus)
    if gpu_ids is not None:
        selection = apply_gpu_ids(selection, gpu_ids, gpus)
    reasons.extend(selection.notes)
    picks = [p for p in by_gpu(selection.picks) if handles[p.gpu.index] is not None]
    if not picks and not reasons:
        reasons.append("no NVIDIA GPU selected (gpu_ids is empty)")
    names = [text(nv, "nvmlDeviceGetName", h) if h is not None else None for h in handles]
    notes: tuple[str, ...] = ()
    by_index = value is not None and not value.startswith(("GPU-", "MIG-"))
    if by_index and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" and len(set(names) - {None}) > 1:
        notes = (
            f"{ENV_VISIBLE} indices follow CUDA's fastest-first order and NVML's the PCI bus: "
            "with mixed GPU models they may differ; set CUDA_DEVICE_ORDER=PCI_BUS_ID or use UUIDs",
        )
    driver = text(nv, "nvmlSystemGetDriverVersion")
    sensors: list[Sensor] = []
    for pick in picks:
        handle, name = handles[pick.gpu.index], names[pick.gpu.index] or "NVIDIA GPU"
        try:
            facts = _probe(nv, handle, GpuFacts(pick, name, driver, notes=notes), timing)
        except nv.NVMLError as exc:
            reasons.append(f"GPU {pick.gpu.index}: NVML cannot read energy or power ({exc})")
            continue
        sensors.append(NvidiaSensor(session, handle, facts, proc_dir))
    return sensors, reasons


def _probe(nv: Any, handle: Any, facts: GpuFacts, timing: Timing) -> GpuFacts:
    """How to read one GPU. Raises NVMLError when neither energy nor power can be read."""
    limit_mw = text(nv, "nvmlDeviceGetEnforcedPowerLimit", handle)
    minor = text(nv, "nvmlDeviceGetMinorNumber", handle)
    facts = replace(
        facts,
        power_limit_w=float(limit_mw) / 1000 if limit_mw else None,
        module=module_scope(nv, handle),
        minor=int(minor) if minor and minor.isdigit() else None,
    )
    try:
        nv.nvmlDeviceGetTotalEnergyConsumption(handle)
        return facts
    except nv.NVMLError as exc:
        if not is_error(exc, nv, "NVMLError_NotSupported"):
            raise
    field = has_instant_power(nv, handle)

    def read_mw() -> float:
        return power_mw(nv, handle, field)

    read_mw()  # raises when power cannot be read either
    return replace(
        facts,
        counter=False,
        module=False,  # the GPU-scope reading: no Grace CPU in it
        instant_field=field,
        averaged=False if field else power_usage_averaged(nv, handle),
        update_period_s=detect_update_period_s(read_mw, *timing),
    )
