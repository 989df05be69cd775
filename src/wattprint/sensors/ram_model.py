"""RAM power model for machines without a DRAM RAPL domain.

power_w = W_PER_GB x memory in use. 0.3725 W/GB is Green Algorithms' figure (Lannelongue et
al., Adv. Sci. 2021; their data file cites doi:10.1145/3076113.3076117 and a DDR4 review).
DRAM power is mostly refresh and background, so memory in use is a proxy, not a measurement:
the band is wide.
"""

from __future__ import annotations

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage

W_PER_GB = 0.3725
UNCERTAINTY_PCT = 50.0
_GB = 1e9


class RamModelSensor(Sensor):
    """Estimated DRAM energy from the machine's used memory (trapezoid over each interval).

    The meter scales it to a process tree by the tree's share of used memory.
    """

    slow = True

    def __init__(self, total_b: int | None = None) -> None:
        details: dict[str, object] = {"w_per_gb": W_PER_GB}
        if total_b is not None:
            details["installed_gb"] = round(total_b / _GB, 3)
        self.info = SensorInfo(
            Component.RAM,
            "dram",
            "w-per-gb-model",
            Provenance.ESTIMATED,
            UNCERTAINTY_PCT,
            (),
            details,
        )

    def begin(self, usage: Usage) -> None:
        if usage.machine_mem_used_b is None:
            raise SensorUnavailableError("no memory counters on this platform")

    def step(self, prev: Usage, cur: Usage) -> Step:
        if prev.machine_mem_used_b is None or cur.machine_mem_used_b is None:
            return Step(0.0, gap="memory use unreadable")
        dt_s = max(0.0, cur.t_s - prev.t_s)
        mean_gb = (prev.machine_mem_used_b + cur.machine_mem_used_b) / 2 / _GB
        return Step(W_PER_GB * mean_gb * dt_s)
