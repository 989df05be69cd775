"""RAPL energy counters through the Linux powercap framework.

Layout copied from the kernel (Documentation/power/powercap/powercap.rst, drivers/powercap/
intel_rapl_common.c): ``/sys/class/powercap/intel-rapl:<pkg>`` is a *package* zone (named
``package-N``, or ``package-N-die-M`` on multi-die parts), and ``intel-rapl:<pkg>:<n>`` are its
sub-zones, named ``core``, ``uncore`` or ``dram``. ``core`` and ``uncore`` are *inside* the
package's energy, so counting them again would double count; ``dram`` is *not* inside it, so a
tool that skips sub-zones loses DRAM. ``psys`` (client platforms) covers the whole SoC and would
overlap the packages, so it is skipped. The ``intel-rapl-mmio`` control type exposes the same
package counters again through MMIO and is skipped when the MSR zones exist. AMD Zen CPUs use
the same ``intel-rapl`` driver and layout (package and core zones, no dram).

Since CVE-2020-8694 (PLATYPUS) ``energy_uj`` is readable by root only on most distributions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from wattprint.errors import SensorError, SensorPermissionError, SensorUnavailableError
from wattprint.sensors.base import Component, Provenance, Sensor, SensorInfo, Step, Usage
from wattprint.sensors.counters import counter_delta, max_safe_interval_s
from wattprint.sensors.pread import PreadFile
from wattprint.settings import env_name

_POWERCAP_VAR = env_name("powercap_dir")
DEFAULT_POWERCAP_DIR = Path("/sys/class/powercap")

#: Upper bound on a zone's power when the kernel does not publish one (constraint files are
#: absent in some VMs and on AMD). Used for wrap plausibility and the read interval only.
FALLBACK_MAX_POWER_W = 1000.0
#: How far above the declared maximum a zone may draw before a jump or wrap is judged a reset.
PLAUSIBLE_FACTOR = 3.0

#: RAPL accuracy, one band per source, see docs/methods/cpu.md. Intel package energy is measured
#: by on-die sensors since Haswell (Khan et al., TOMPECS 2018: within a few percent of wall
#: measurements after offset); DRAM is less exact; AMD's counters are model-based.
UNCERTAINTY_PCT = {"intel": {"package": 5.0, "dram": 10.0}, "amd": {"package": 10.0, "dram": 15.0}}

_ZONE_RE = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?$")
_PACKAGE_RE = re.compile(r"^package-\d+(?:-die-\d+)?$")


@dataclass(frozen=True)
class RaplZone:
    path: Path
    name: str  # the zone's ``name`` file: package-0, dram, ...
    device: str  # what we call it: package-0, package-0/dram
    component: Component
    range_uj: int
    max_power_w: float


def powercap_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override is not None:
        return Path(override)
    return DEFAULT_POWERCAP_DIR


def _read_text(path: Path) -> str:
    return path.read_text().strip()


def _max_power_w(zone: Path) -> float:
    """Largest power the zone can draw, from its constraint files; fallback when absent."""
    best_uw = 0
    for f in zone.glob("constraint_*_max_power_uw"):
        try:
            best_uw = max(best_uw, int(_read_text(f)))
        except (OSError, ValueError):
            continue
    if best_uw > 0:
        return best_uw / 1e6
    limits_uw = []
    for f in zone.glob("constraint_*_power_limit_uw"):
        try:
            limits_uw.append(int(_read_text(f)))
        except (OSError, ValueError):
            continue
    # A power limit is not a maximum (turbo may exceed PL1); 2x leaves room for PL2.
    if limits_uw and max(limits_uw) > 0:
        return 2 * max(limits_uw) / 1e6
    return FALLBACK_MAX_POWER_W


def _zone_entries(root: Path) -> dict[str, Path]:
    """Zone directories by name, from the flat ``/sys/class/powercap`` layout (every zone a
    top-level link) or the nested ``/sys/devices/virtual/powercap[/intel-rapl]`` one (each
    sub-zone inside its parent), whichever ``root`` is."""
    found: dict[str, Path] = {}
    todo = [(root, 0)]
    while todo:
        directory, depth = todo.pop()
        try:
            children = sorted(directory.iterdir())
        except OSError:
            continue
        for entry in children:
            if _ZONE_RE.match(entry.name):
                if entry.name not in found:
                    found[entry.name] = entry
                    if depth < 3:
                        todo.append((entry, depth + 1))
            elif depth == 0 and entry.name in ("intel-rapl", "intel-rapl-mmio"):
                todo.append((entry, depth + 1))
    return found


def find_zones(root: Path) -> list[RaplZone]:
    """The zones to count: packages and their dram sub-zones. Raises SensorUnavailableError."""
    if not root.is_dir():
        raise SensorUnavailableError(
            f"no powercap directory at {root} (VMs and CPUs without RAPL have none; in a "
            "container, bind-mount the host's /sys/devices/virtual/powercap and set "
            f"{_POWERCAP_VAR} to it)"
        )
    entries: dict[str, list[tuple[int, int | None, Path]]] = {}
    for name, entry in _zone_entries(root).items():
        m = _ZONE_RE.match(name)
        assert m is not None
        sub = int(m.group(3)) if m.group(3) is not None else None
        entries.setdefault(m.group(1), []).append((int(m.group(2)), sub, entry))
    kind = "intel-rapl" if "intel-rapl" in entries else "intel-rapl-mmio"
    zones: list[RaplZone] = []
    package_names: dict[int, str] = {}
    ordered = sorted(entries.get(kind, []), key=lambda e: (e[0], e[1] is not None, e[1] or 0))
    for pkg, sub, path in ordered:
        try:
            name = _read_text(path / "name")
            range_uj = int(_read_text(path / "max_energy_range_uj"))
        except (OSError, ValueError):
            continue
        if sub is None:
            if name == "dram":  # some servers expose dram as a top-level zone
                device, component = f"dram-{pkg}", Component.RAM
            elif _PACKAGE_RE.match(name):
                device, component = name, Component.CPU
                package_names[pkg] = name
            else:  # psys and unknown platform zones overlap the packages
                continue
        elif name == "dram":
            device, component = f"{package_names.get(pkg, f'package-{pkg}')}/dram", Component.RAM
        else:  # core, uncore: already inside the package's energy
            continue
        zones.append(RaplZone(path, name, device, component, range_uj, _max_power_w(path)))
    if not zones:
        raise SensorUnavailableError(
            f"no RAPL package zones under {root} (in a container the zones may be masked: "
            "bind-mount the host's /sys/devices/virtual/powercap and set "
            f"{_POWERCAP_VAR} to it)"
        )
    return zones


def permission_message(path: Path) -> str:
    return (
        f"RAPL energy counters ({path}) are readable by root only since CVE-2020-8694; "
        "run as root, grant read access (e.g. `sudo chmod a+r "
        f"{path.parent.parent}/intel-rapl:*/energy_uj` or a udev rule), or bind-mount a readable "
        f"copy and set {_POWERCAP_VAR}; using the CPU model meanwhile"
    )


class RaplSensor(Sensor):
    """One RAPL zone's cumulative energy counter."""

    def __init__(self, zone: RaplZone, vendor: str = "intel") -> None:
        self.zone = zone
        self._energy_file = PreadFile(str(zone.path / "energy_uj"))
        part = "dram" if zone.component is Component.RAM else "package"
        vendor_key = "amd" if vendor == "amd" else "intel"
        self.info = SensorInfo(
            component=zone.component,
            device=zone.device,
            method="rapl-powercap",
            provenance=Provenance.MEASURED,
            uncertainty_pct=UNCERTAINTY_PCT[vendor_key][part],
            details={"zone": str(zone.path), "max_energy_range_uj": zone.range_uj},
        )
        # The declared maximum is often PL1 (about the TDP) while turbo draws more: judge wraps
        # and plan reads against a margin above it.
        self._limit_w = PLAUSIBLE_FACTOR * zone.max_power_w
        self.max_interval_s = max_safe_interval_s(zone.range_uj, self._limit_w)
        self._last_uj: int | None = None
        self._last_t_s = 0.0
        # DRAM is attributed by memory share, which the meter reads on full reads only.
        self.slow = zone.component is Component.RAM

    def read_uj(self) -> int:
        try:
            return int(self._energy_file.read(64))
        except PermissionError as exc:
            raise SensorPermissionError(permission_message(Path(self._energy_file.path))) from exc
        except (OSError, ValueError) as exc:
            raise SensorError(f"cannot read {self._energy_file.path}: {exc}") from exc

    def begin(self, usage: Usage) -> None:
        self._last_uj, self._last_t_s = self.read_uj(), usage.t_s

    def close(self) -> None:
        self._energy_file.close()

    def step(self, prev: Usage, cur: Usage) -> Step:
        value_uj = self.read_uj()  # a failed read raises: the meter marks a gap, we keep the
        last_uj, last_t_s = self._last_uj, self._last_t_s  # last good reading for next time
        self._last_uj, self._last_t_s = value_uj, cur.t_s
        if last_uj is None:
            return Step(0.0, gap="no baseline reading")
        d = counter_delta(last_uj, value_uj, self.zone.range_uj, cur.t_s - last_t_s, self._limit_w)
        # After failed reads the counter still holds their energy: this step covers them.
        since_s = last_t_s if last_t_s < prev.t_s and d.gap is None else None
        return Step(d.energy_uj / 1e6, gap=d.gap, since_s=since_s)


def discover_rapl(root: Path, vendor: str = "intel") -> list[RaplSensor]:
    """RAPL sensors that can be read now. Raises SensorPermissionError or SensorUnavailableError."""
    sensors = [RaplSensor(z, vendor) for z in find_zones(root)]
    try:
        for s in sensors:
            s.read_uj()  # fail early (permissions, EIO) so the caller can fall back to the model
    except SensorError:
        for s in sensors:
            s.close()
        raise
    return sensors
