"""Energy of data moved over the network, estimated from the machine's interface counters.

energy = bytes sent and received x KWH_PER_GB. The factor is Aslan, Mayers, Koomey and France,
"Electricity Intensity of Internet Data Transmission: Untangling the Estimates", Journal of
Industrial Ecology 22(4), 2018: 0.06 kWh/GB for 2015 (core and fixed-line access networks),
halving about every two years since 2000. wattprint applies the authors' trend to 2025
(0.06 x 0.5^5 = 0.0019 kWh/GB): an extrapolation, hence a 100 % band. It is energy in the
networks outside this machine, attributed to it by the bytes it moved.

Counters come from ``/proc/net/dev`` (cumulative bytes per interface). Loopback and virtual
interfaces (bridges, veth pairs, tunnels of container runtimes) are left out: their traffic
also crosses a physical interface, or never leaves the machine. The counters are the whole
machine's (a network namespace's, in a container): no per-process byte counters exist, so
this component is offered in machine scope only.
"""

from __future__ import annotations

from pathlib import Path

from wattprint.errors import SensorUnavailableError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage

KWH_PER_GB_2015 = 0.06
KWH_PER_GB = KWH_PER_GB_2015 * 0.5 ** ((2025 - 2015) / 2)  # the authors' halving, to 2025
UNCERTAINTY_PCT = 100.0
J_PER_BYTE = KWH_PER_GB * 3.6e6 / 1e9
SKIPPED_PREFIXES = ("lo", "docker", "veth", "br-", "virbr", "cni", "flannel", "cali", "tun",
                    "tap", "vxlan", "kube", "cilium", "podman", "wg")  # fmt: skip


def read_net_dev(path: Path) -> dict[str, int]:
    """Bytes received + sent per physical interface, from a ``/proc/net/dev`` file (two
    header lines, then ``name: rx_bytes rx_packets ... tx_bytes ...``: tx_bytes is the 9th
    number)."""
    out: dict[str, int] = {}
    for line in path.read_text(encoding="ascii", errors="replace").splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        fields = rest.split()
        if not sep or len(fields) < 9 or name.startswith(SKIPPED_PREFIXES):
            continue
        try:
            out[name] = int(fields[0]) + int(fields[8])
        except ValueError:
            continue
    return out


class NetworkModelSensor(Sensor):
    """Estimated network energy of the machine's physical interfaces."""

    slow = True
    component = Component.NETWORK

    def __init__(self, proc_dir: Path = Path("/proc")) -> None:
        self.path = proc_dir / "net" / "dev"
        self._last: dict[str, int] = {}
        self.info = SensorInfo(
            Component.NETWORK,
            "interfaces",
            "bytes-x-kwh-per-gb",
            Provenance.ESTIMATED,
            UNCERTAINTY_PCT,
            (
                "Aslan et al. 2018: 0.06 kWh/GB in 2015, halving every ~2 years; "
                f"{KWH_PER_GB:.4f} kWh/GB for 2025 (their trend, extrapolated)",
            ),
            {"kwh_per_gb": round(KWH_PER_GB, 6), "factor_year": 2025, "source_year": 2015},
        )

    def begin(self, usage: Usage) -> None:
        try:
            self._last = read_net_dev(self.path)
        except OSError as exc:
            raise SensorUnavailableError(f"no network counters ({self.path}: {exc})") from exc

    def step(self, prev: Usage, cur: Usage) -> Step:
        try:
            now = read_net_dev(self.path)
        except OSError:
            return Step(0.0, gap="network counters unreadable")
        # Per interface, floored at 0: a counter that reset (a re-created interface) adds
        # nothing for this interval rather than going negative.
        moved_b = sum(max(0, b - self._last.get(n, b)) for n, b in now.items())
        self._last = now
        return Step(moved_b * J_PER_BYTE)
