"""The monitor's readings: the whole machine's meter, read on an interval, kept for scrapes.

A scrape must cost next to nothing and never fail because a sensor did, so it reads no
sensor: :meth:`MonitorState.sample` (the daemon's sampling loop) reads the meter and stores
a :class:`Reading`; :meth:`MonitorState.reading` (each scrape) returns the latest one. Between
samples, :meth:`MonitorState.tick` makes the meter's fast reads that some sensors need (a GPU
whose power is integrated, a RAPL counter that could wrap twice unseen). A sensor that fails
in an interval contributes no energy for it and reads ``up = False`` until an interval goes
by without a failure; the gaps are taken from the meter at each sample, so none pile up in a
daemon that runs for months.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from wattprint.meter import Meter
from wattprint.monitor.cgroups import CgroupEnergy
from wattprint.sensors.base import Component

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.monitor.live import LiveIntensity

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class SensorReading:
    component: str
    device: str  # unique among the readings (a repeated name gets " (2)", " (3)"...)
    provenance: str
    energy_j: float  # since the monitor started (IT energy, before PUE)
    power_w: float  # over the last sampling interval
    up: bool  # the last reading of this sensor worked


@dataclass(frozen=True)
class Carbon:
    """The zone's intensity as used for the latest interval (live, or the bundled value)."""

    zone: str
    intensity_g_per_kwh: float
    source: str
    basis: str
    pue: float


@dataclass(frozen=True)
class Reading:
    sensors: tuple[SensorReading, ...]
    carbon: Carbon | None  # None: no zone configured, so no CO2 (never a guessed one)
    co2_g: float  # since the monitor started, facility energy (x PUE) x intensity
    cgroup_energy_j: dict[str, float] | None  # None: no cgroup v2 hierarchy
    samples: int
    failed_samples: int
    sampled_at_unix_s: float  # 0 before the first sample


def _unique(names: list[tuple[str, str]]) -> list[str]:
    """Each (component, device) pair's device, numbered where a pair repeats (two GPUs of
    one model): Prometheus refuses two series with the same labels."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for pair in names:
        seen[pair] = seen.get(pair, 0) + 1
        out.append(pair[1] if seen[pair] == 1 else f"{pair[1]} ({seen[pair]})")
    return out


class MonitorState:
    """Thread-safe: one thread samples, any number of scrape threads read."""

    def __init__(
        self,
        meter: Meter,
        carbon: Carbon | None,
        cgroups: CgroupEnergy | None,
        *,
        live: LiveIntensity | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.meter = meter
        self.carbon = carbon
        self.cgroups = cgroups
        self.live = live
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._carbon_now = carbon
        self._reading = Reading((), carbon, 0.0, None, 0, 0, 0.0)
        self._co2_g = 0.0
        self._samples = self._failed = 0
        self._last_j: tuple[float, ...] = ()
        self._last_t_s: float | None = None
        self._up: list[bool] = []

    def begin(self) -> None:
        """The meter's first reading (the counters' zero)."""
        snap = self.meter.begin()
        self._last_j, self._last_t_s = snap.energy_j, snap.t_s
        self._up = [self.meter.is_live(i) for i in range(len(self.meter.sensors))]
        if self.cgroups is not None:
            self.cgroups.add(0.0)  # the cgroups' zero too

    def tick(self) -> None:
        """A fast read between samples (the sensors that need one); published at the next
        sample. A read that fails is counted, and the next one covers its interval."""
        try:
            self.meter.read(full=False)
        except Exception:  # noqa: BLE001 - the daemon goes on
            with self._lock:
                self._failed += 1

    def sample(self) -> Reading:
        """Read every sensor now and keep the result for the scrapes."""
        meter = self.meter
        try:
            snap = meter.read(full=True)
        except Exception:  # noqa: BLE001 - a bad sample is counted, the daemon goes on
            with self._lock:
                self._failed += 1
                # Nothing was read: no sensor can be said to be up.
                down = tuple(replace(s, up=False) for s in self._reading.sensors)
                self._reading = self._build(down)
            return self._reading
        # Every gap since the last sample, fast reads' included (a gap that a later read
        # filled in is gone from the list by now).
        failed = {g.sensor for g in meter.take_gaps()}
        deltas = [max(0.0, a - b) for a, b in zip(snap.energy_j, self._last_j, strict=True)]
        dt_s = snap.t_s - self._last_t_s if self._last_t_s is not None else 0.0
        self._last_j, self._last_t_s = snap.energy_j, snap.t_s
        self._up = [meter.is_live(i) and i not in failed for i in range(len(meter.sensors))]
        infos = [s.info for s in meter.sensors]
        devices = _unique([(str(info.component), info.device) for info in infos])
        sensors = tuple(
            SensorReading(
                str(info.component),
                devices[i],
                str(info.provenance),
                snap.energy_j[i],
                deltas[i] / dt_s if dt_s > 0 else 0.0,
                self._up[i],
            )
            for i, info in enumerate(infos)
        )
        carbon = self.carbon
        if carbon is not None and self.live is not None:  # may ask the provider (network)
            now = self.live.current()
            carbon = replace(
                carbon,
                intensity_g_per_kwh=now.intensity_g_per_kwh,
                source=now.source,
                basis=now.basis,
            )
        cpu_j = sum(
            d for d, info in zip(deltas, infos, strict=True) if info.component is Component.CPU
        )
        if self.cgroups is not None:
            self.cgroups.add(cpu_j)
        with self._lock:
            self._samples += 1
            if carbon is not None:
                kwh = sum(deltas) / J_PER_KWH
                self._co2_g += kwh * carbon.pue * carbon.intensity_g_per_kwh
                self._carbon_now = carbon
            self._reading = self._build(sensors)
            return self._reading

    def _build(self, sensors: tuple[SensorReading, ...]) -> Reading:
        return Reading(
            sensors,
            self._carbon_now,
            self._co2_g,
            self.cgroups.totals() if self.cgroups is not None else None,
            self._samples,
            self._failed,
            self._wall_clock() if self._samples else 0.0,
        )

    def reading(self) -> Reading:
        """The latest sample (a scrape's view: no sensor is read)."""
        with self._lock:
            return self._reading

    def close(self) -> None:
        self.meter.close()
