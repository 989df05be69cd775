"""``wattprint run --push URL``: a finished run's totals to a Prometheus Pushgateway.

A batch job ends before any scrape could find it, so it pushes (the Pushgateway's own
advice). The run is pushed under ``job="wattprint"`` and a grouping key of its project and
host, so each push replaces the previous run of that project on that host: gauges of the
latest run, not counters (``sum_over_time``-style totals belong to Prometheus's side).

``wattprint_run_last_success_timestamp_seconds`` is pushed by runs that finish well only, so
an alert can ask how long ago a project last succeeded: a successful run replaces the whole
group (PUT), a failed one only the metrics it pushes (POST), keeping that timestamp.

The URL is checked before the command starts; a push that fails is a warning, never a lost
run or a changed exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from wattprint.errors import ConfigError
from wattprint.records.run import Run

JOB = "wattprint"
TIMEOUT_S = 10.0


def check_push_url(url: str) -> str:
    """``url`` if it can be pushed to (http or https, a host), else a one-line ConfigError."""
    from wattprint.monitor.daemon import require_client
    from wattprint.records.paths import redact_url

    shown = redact_url(url)  # the password of http://user:password@... stays out of errors
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
    except ValueError:
        raise ConfigError(
            f"--push {shown!r} is not a URL (its host or port does not parse); "
            "give http://HOST:9091"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--push {shown!r} is not an http(s) URL with a host; give the Pushgateway's "
            "address, e.g. http://pushgateway.internal:9091"
        )
    require_client("wattprint run --push")
    return url


def push_run(url: str, run: Run, host: str) -> None:
    """Push ``run``'s totals; raises OSError (or the client's errors) when the push fails."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

    registry = CollectorRegistry()
    energy = Gauge(
        "wattprint_run_energy_joules",
        "The latest run's energy per component (IT energy, before PUE)",
        ("component", "device", "provenance"),
        registry=registry,
    )
    for c in run.components:
        energy.labels(c.name, c.device, c.provenance).set(c.energy_kwh * 3.6e6)
    Gauge("wattprint_run_duration_seconds", "The latest run's duration", registry=registry).set(
        run.duration_s
    )
    if run.co2_kg is not None and run.zone is not None:
        Gauge(
            "wattprint_run_co2_grams",
            "The latest run's CO2e (energy x PUE x the zone's intensity)",
            ("zone",),
            registry=registry,
        ).labels(run.zone).set(run.co2_kg * 1000)
    if run.exit_code is not None:
        Gauge("wattprint_run_exit_code", "The latest run's exit code", registry=registry).set(
            run.exit_code
        )
    Gauge(
        "wattprint_run_info",
        "The latest run: its id and status (value 1)",
        ("run_id", "status"),
        registry=registry,
    ).labels(run.run_id, run.status).set(1)
    Gauge(
        "wattprint_run_last_completion_timestamp_seconds",
        "Unix time at which the latest run ended",
        registry=registry,
    ).set_to_current_time()
    succeeded = succeeded_run(run)
    if succeeded:
        Gauge(
            "wattprint_run_last_success_timestamp_seconds",
            "Unix time at which the latest successful run ended (kept by failed runs' pushes)",
            registry=registry,
        ).set_to_current_time()
    target, handler = _with_auth(url)
    push = push_to_gateway if succeeded else pushadd_to_gateway
    push(
        target,
        job=JOB,
        registry=registry,
        grouping_key={"project": run.project, "instance": host},
        timeout=TIMEOUT_S,
        handler=handler,
    )


def succeeded_run(run: Run) -> bool:
    """The run finished and its command exited 0 (or had no command)."""
    return run.status == "finished" and run.exit_code in (0, None)


def _with_auth(url: str) -> tuple[str, Callable[..., Callable[[], None]]]:
    """The URL without its user information, and a handler that sends it as HTTP basic
    authentication (a Pushgateway behind ``--web.config.file``), or the default handler."""
    from prometheus_client.exposition import basic_auth_handler, default_handler

    parts = urlsplit(url)
    if parts.username is None:
        return url, default_handler
    host = parts.netloc.rsplit("@", 1)[1]
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    user, password = unquote(parts.username), unquote(parts.password or "")

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, user, password)

    return bare, handler
