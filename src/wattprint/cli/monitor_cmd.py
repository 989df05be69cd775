"""``wattprint monitor``: the machine's energy, power and CO2 as Prometheus metrics on
``/metrics`` (127.0.0.1 by default)."""

from __future__ import annotations

import argparse
from typing import Any

from wattprint.monitor.daemon import DEFAULT_PORT


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "monitor",
        help="serve the machine's energy, power and CO2 to Prometheus (127.0.0.1 by default)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    p.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="sampling interval (default 5)",
    )
    p.add_argument("--zone", metavar="ZONE", help="grid zone for CO2 (default: the zone setting)")
    p.add_argument("--pue", metavar="VALUE", help="PUE for CO2 (default: the pue setting)")
    p.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="most cgroups given a label of their own (default 10; the rest add up as '(other)')",
    )


def monitor(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from wattprint.errors import UsageError
    from wattprint.monitor.daemon import (
        MonitorOptions,
        bind_warning,
        build_state,
        require_client,
        serve,
    )
    from wattprint.sensors.discovery import HardwareOptions
    from wattprint.settings import resolve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is out of range; give 1-65535, or 0 for any free")
    if not 0.1 <= args.interval <= 3600:
        raise UsageError(f"--interval {args.interval:g} is out of range; give 0.1 to 3600 seconds")
    if not 0 <= args.top <= 1000:
        raise UsageError(f"--top {args.top} is out of range; give 0 to 1000 cgroups")
    require_client()
    settings = resolve({"zone": args.zone, "pue": args.pue}, flags=True)
    host = args.host.strip("[]")
    warning = bind_warning(host)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state = build_state(settings, HardwareOptions(), args.top)
    serve(state, MonitorOptions(host, args.port, args.interval, args.top), stop)
    return 0
