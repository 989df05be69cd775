"""The monitor's readings as Prometheus metrics (the official ``prometheus_client``).

Names follow the Prometheus naming guide: the ``wattprint_`` prefix, base units (joules,
watts, grams, seconds), ``_total`` on counters. A scrape turns the latest
:class:`~wattprint.monitor.state.Reading` into metric families and reads no sensor.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from wattprint.monitor.state import Reading


class MonitorCollector(Collector):
    def __init__(self, reading: Callable[[], Reading], version: str) -> None:
        self._reading = reading
        self._version = version

    def collect(self) -> Iterator[Metric]:
        r = self._reading()
        energy = CounterMetricFamily(
            "wattprint_energy_joules",
            "Energy used by the machine's components since the monitor started (IT energy, "
            "before PUE)",
            labels=("component", "device", "provenance"),
        )
        power = GaugeMetricFamily(
            "wattprint_power_watts",
            "Mean power of each component over the last sampling interval",
            labels=("component", "device"),
        )
        up = GaugeMetricFamily(
            "wattprint_sensor_up",
            "1 if the component's sensor was read in the last sample, 0 if it failed",
            labels=("component", "device"),
        )
        for s in r.sensors:
            energy.add_metric((s.component, s.device, s.provenance), s.energy_j)
            power.add_metric((s.component, s.device), s.power_w)
            up.add_metric((s.component, s.device), 1.0 if s.up else 0.0)
        yield energy
        yield power
        yield up
        if r.carbon is not None:
            c = r.carbon
            intensity = GaugeMetricFamily(
                "wattprint_grid_intensity_grams_per_kwh",
                "Carbon intensity of the configured grid zone (gCO2e per kWh)",
                labels=("zone", "source", "basis"),
            )
            intensity.add_metric((c.zone, c.source, c.basis), c.intensity_g_per_kwh)
            yield intensity
            pue = GaugeMetricFamily("wattprint_pue", "Power usage effectiveness applied to CO2")
            pue.add_metric((), c.pue)
            yield pue
            co2 = CounterMetricFamily(
                "wattprint_co2_grams",
                "CO2e of the machine's energy since the monitor started (energy x PUE x the "
                "zone's intensity)",
                labels=("zone",),
            )
            co2.add_metric((c.zone,), r.co2_g)
            yield co2
        if r.cgroup_energy_j is not None:
            cg = CounterMetricFamily(
                "wattprint_cgroup_cpu_energy_joules",
                "CPU energy shared among the busiest cgroups by CPU time (at most --top of "
                "them, the rest as '(other)')",
                labels=("cgroup",),
            )
            for name, joules in r.cgroup_energy_j.items():
                cg.add_metric((name,), joules)
            yield cg
        samples = CounterMetricFamily(
            "wattprint_monitor_samples", "Samples taken (all sensors read once)"
        )
        samples.add_metric((), float(r.samples))
        yield samples
        failed = CounterMetricFamily(
            "wattprint_monitor_failed_samples", "Samples that failed as a whole"
        )
        failed.add_metric((), float(r.failed_samples))
        yield failed
        last = GaugeMetricFamily(
            "wattprint_monitor_last_sample_timestamp_seconds",
            "Unix time of the latest sample (0 before the first)",
        )
        last.add_metric((), r.sampled_at_unix_s)
        yield last
        info = InfoMetricFamily("wattprint_build", "wattprint's version")
        info.add_metric((), {"version": self._version, "python": platform.python_version()})
        yield info
