"""``wattprint monitor``: the machine's energy and carbon as a Prometheus target.

The sensors are those a run would use (:func:`wattprint.sensors.discovery.discover`), read
for the whole machine (scope ``machine``) every ``interval_s`` by the main thread; the HTTP
server (``prometheus_client``'s, in its own thread) answers each scrape from the latest
reading. The daemon's own CPU is part of the machine's energy: about a millisecond of CPU per
sample, and the scrapes' (``process_cpu_seconds_total`` shows it).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattprint.errors import ConfigError

if TYPE_CHECKING:
    from wattprint.carbon.providers.base import Provider
    from wattprint.monitor.state import Carbon, MonitorState
    from wattprint.sensors.discovery import HardwareOptions
    from wattprint.settings import Settings

DEFAULT_PORT = 9875
INSTALL_HINT = "pip install 'wattprint[monitor]'"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class MonitorOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    interval_s: float = 5.0
    top: int = 10  # cgroup labels at most


def require_client() -> None:
    """ConfigError (one line, the install command) unless prometheus_client is installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"wattprint monitor needs the Prometheus client library: {INSTALL_HINT}"
        ) from None


def carbon_of(settings: Settings) -> tuple[Carbon | None, Provider | None]:
    """The zone's bundled intensity and the PUE (None without a zone), and the live provider
    the settings configure (``intensity_provider``), if any."""
    from wattprint.carbon.plan import CarbonPlan
    from wattprint.monitor.state import Carbon

    plan = CarbonPlan.from_settings(settings)
    i = plan.intensity
    if i is None:
        return None, None
    return Carbon(i.zone, i.intensity_g_per_kwh, i.label, i.basis, plan.pue), plan.provider


class _WarnOnce:
    """A sensor's problem is said once on stderr, not at every sample for months."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, key: str, message: str) -> None:
        kind = key.split(":", 2)[:2]  # gap:<sensor> once, whatever the reason's wording
        short = ":".join(kind)
        if short not in self.seen:
            self.seen.add(short)
            print(f"wattprint monitor: warning: {message}", file=sys.stderr, flush=True)


def build_state(
    settings: Settings,
    hardware: HardwareOptions,
    top: int,
    clock: Callable[[], float] = time.monotonic,
) -> MonitorState:
    """Discover the sensors and make the machine-scope meter and its state."""
    from wattprint.meter import Meter
    from wattprint.monitor.cgroups import CgroupEnergy
    from wattprint.monitor.state import MonitorState
    from wattprint.sensors.discovery import discover
    from wattprint.sensors.usage import OwnUse, UsageProbe

    # A bad zone, PUE or provider configuration is an error before any sensor is opened.
    carbon, provider = carbon_of(settings)
    warn = _WarnOnce()
    hw = hardware.with_settings(settings)
    found = discover(hw)
    for message in found.warnings:
        warn(message, message)
    probe = UsageProbe(
        None, proc_dir=hw.proc_dir, cgroup=found.busy_cgroup, disks=found.disk_reader, own=OwnUse()
    )
    meter = Meter(found.sensors, probe, "machine", clock=clock, warn=warn, max_points=16)
    cgroups = CgroupEnergy.open(hw.cgroup_root, top)
    if cgroups is None:
        warn("cgroup", f"no cgroup v2 hierarchy at {hw.cgroup_root}: no per-cgroup energy")
    live = None
    if carbon is not None and provider is not None:
        from wattprint.monitor.live import Current, LiveIntensity

        bundled = Current(carbon.intensity_g_per_kwh, carbon.source, carbon.basis, live=False)
        live = LiveIntensity(provider, carbon.zone, bundled, warn=warn)
    return MonitorState(meter, carbon, cgroups, live=live)


def serve(
    state: MonitorState,
    opts: MonitorOptions,
    stop: threading.Event,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Sample and serve until ``stop`` is set (SIGTERM, SIGINT); ``on_ready`` gets the port
    once the server listens."""
    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    from wattprint import __version__
    from wattprint.monitor.exposition import MonitorCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(state.reading, __version__))
    ProcessCollector(registry=registry)  # the daemon's own CPU and memory
    state.begin()
    state.sample()  # the first scrape already has every sensor
    try:
        server, thread = start_http_server(opts.port, addr=opts.host, registry=registry)
    except OSError as exc:
        state.close()
        raise ConfigError(
            f"cannot listen on {opts.host}:{opts.port}: {exc.strerror or exc}; "
            "choose another --port (or --host)"
        ) from None
    port = server.server_port
    if on_ready is not None:
        on_ready(port)
    shown = f"[{opts.host}]" if ":" in opts.host else opts.host
    print(
        f"wattprint monitor: serving http://{shown}:{port}/metrics, sampling every "
        f"{opts.interval_s:g} s ({len(state.meter.sensors)} sensors)",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(opts.interval_s):
            state.sample()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        state.close()
