"""``wattprint monitor``: the machine's energy and carbon as a Prometheus target.

The sensors are those a run would use (:func:`wattprint.sensors.discovery.discover`), read
for the whole machine (scope ``machine``) every ``interval_s`` by the main thread (more often
where a sensor needs it: :func:`cadence`); the HTTP server (``prometheus_client``'s, in its
own thread) answers each scrape from the latest reading. The daemon's own CPU is part of the
machine's energy: about a millisecond of CPU per sample, and the scrapes'
(``process_cpu_seconds_total`` shows it).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattprint.errors import ConfigError
from wattprint.hosts import is_loopback

if TYPE_CHECKING:
    from wattprint.carbon.providers.base import Provider
    from wattprint.meter import Meter
    from wattprint.monitor.state import Carbon, MonitorState
    from wattprint.sensors.discovery import HardwareOptions
    from wattprint.settings import Settings

DEFAULT_PORT = 9875
INSTALL_HINT = "pip install 'wattprint[monitor]'"
MIN_TICK_S = 0.01  # a floor whatever a sensor asks: the daemon must not spin


@dataclass(frozen=True)
class MonitorOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    interval_s: float = 5.0
    top: int = 10  # cgroup labels at most


def require_client(what: str = "wattprint monitor") -> None:
    """ConfigError (one line, the install command) unless prometheus_client is installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} needs the Prometheus client library: {INSTALL_HINT}") from None


def bind_warning(host: str) -> str | None:
    """The one-line warning for a ``--host`` that other machines can reach, else None."""
    if is_loopback(host):
        return None
    return (
        f"wattprint monitor: warning: serving on {host or 'every interface'}: anyone who can "
        "reach this machine can read its metrics (no login); prefer 127.0.0.1 behind your "
        "Prometheus"
    )


@dataclass(frozen=True)
class Cadence:
    """How often the meter is read: a sample (all sensors, published) every ``sample_s``, and
    fast reads every ``tick_s`` in between for the sensors that need them."""

    sample_s: float
    tick_s: float


def cadence(meter: Meter, interval_s: float) -> Cadence:
    """Samples every ``interval_s``, sooner where a sensor's counter could wrap twice between
    two reads (RAPL at a long interval, :func:`~wattprint.sensors.counters.max_safe_interval_s`)
    or its power must be read often to be integrated (a GPU without an energy counter), as the
    tracker's sampler does."""
    live = [s for i, s in enumerate(meter.sensors) if meter.is_live(i)]
    slow_limit_s = min((s.max_interval_s for s in live if s.slow), default=math.inf)
    sample_s = min(interval_s, slow_limit_s)
    return Cadence(sample_s, max(MIN_TICK_S, min([sample_s] + [s.max_interval_s for s in live])))


def sampling_loop(
    state: MonitorState,
    every: Cadence,
    wait: Callable[[float], bool],
    clock: Callable[[], float],
) -> None:
    """Sample and tick until ``wait`` (``stop.wait``) returns True."""
    next_sample_s = clock() + every.sample_s
    while not wait(every.tick_s):
        now = clock()
        if now >= next_sample_s - every.tick_s / 2:  # a tick early rather than one late
            state.sample()
            next_sample_s = now + every.sample_s
        else:
            state.tick()


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
    every = cadence(state.meter, opts.interval_s)
    # The first sample a moment after the counters' zero, not at once: power over a few
    # milliseconds would be noise (0 W or a spike). The first scrape then has every sensor.
    if stop.wait(min(1.0, every.sample_s)):
        state.close()
        return
    state.sample()
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
    faster = ""
    if every.sample_s < opts.interval_s:
        faster = " (sooner than --interval: a counter could wrap unseen)"
    elif every.tick_s < every.sample_s:
        faster = f", some sensors every {every.tick_s:g} s"
    print(
        f"wattprint monitor: serving http://{shown}:{port}/metrics, sampling every "
        f"{every.sample_s:g} s{faster} ({len(state.meter.sensors)} sensors)",
        file=sys.stderr,
        flush=True,
    )
    try:
        sampling_loop(state, every, stop.wait, state.meter.clock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        state.close()
