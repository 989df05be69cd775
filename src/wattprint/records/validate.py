"""What a run record may hold, checked before it enters the store from outside (imports).

A record the tool writes itself is right by construction; one read from a file may be
anything. One bad value stored would break every later ``runs``, ``summary`` and ``export``
(or turn an export into invalid JSON with ``Infinity``), so each field is checked for its type
and range here, and the first problem is reported — the importers add the file and line.
"""

from __future__ import annotations

import math
from datetime import datetime

from wattprint.errors import InvalidRecordError
from wattprint.records.run import ComponentEnergy, Run, Window

MAX_EXIT_CODE = 2**31  # exit statuses, signals: far below this
MAX_DURATION_S = 100 * 366 * 86400.0  # a century
MAX_ENERGY_KWH = 1e12  # a terawatt-hour: more than any job; guards against unit mix-ups
MAX_TEXT_CHARS = 4096
STATUSES = ("running", "finished", "failed", "interrupted")


def _text(name: str, value: object, *, optional: bool = False, lines: bool = False) -> None:
    """``lines``: free text (an error message) may hold newlines and tabs, nothing else."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidRecordError(f"{name} is {type(value).__name__}, not text")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidRecordError(f"{name} is longer than {MAX_TEXT_CHARS} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRecordError(f"{name} is not valid UTF-8 text") from None
    allowed = "\n\t" if lines else ""
    if any((c < " " or "\x7f" <= c <= "\x9f") and c not in allowed for c in value):
        raise InvalidRecordError(f"{name} contains control characters")


def _number(
    name: str,
    value: object,
    *,
    optional: bool = False,
    minimum: float = 0.0,
    maximum: float = math.inf,
) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecordError(f"{name} is {value!r}, not a number")
    if not math.isfinite(value):
        raise InvalidRecordError(f"{name} is {value!r}, not a finite number")
    if not minimum <= value <= maximum:
        raise InvalidRecordError(f"{name} is {value!r}, outside {minimum:g} to {maximum:g}")


def _instant(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    _text(name, value)
    assert isinstance(value, str)
    try:
        dt = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise InvalidRecordError(f"{name} is {value!r}, not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise InvalidRecordError(f"{name} is {value!r}, a time without its zone")


def _int(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecordError(f"{name} is {value!r}, not an integer")
    if not -MAX_EXIT_CODE < value < MAX_EXIT_CODE:
        raise InvalidRecordError(f"{name} is {value!r}, out of range")


def _components(where: str, comps: object) -> None:
    if not isinstance(comps, tuple) or not all(isinstance(c, ComponentEnergy) for c in comps):
        raise InvalidRecordError(f"{where}components are not a list of components")
    for c in comps:
        _text(f"{where}component name", c.name)
        _text(f"{where}component device", c.device)
        _text(f"{where}component method", c.method)
        _text(f"{where}component provenance", c.provenance)
        _number(f"{where}{c.name} energy_kwh", c.energy_kwh, maximum=MAX_ENERGY_KWH)
        _number(f"{where}{c.name} uncertainty_pct", c.uncertainty_pct, maximum=1000)
        _number(f"{where}{c.name} gap_s", c.gap_s, maximum=MAX_DURATION_S)
        if not isinstance(c.details, dict):
            raise InvalidRecordError(f"{where}{c.name} details are not a mapping")


def _window(i: int, w: object) -> None:
    if not isinstance(w, Window):
        raise InvalidRecordError(f"window {i} is not a window")
    _text(f"window {i} name", w.name)
    _instant(f"window {i} started_at", w.started_at)
    _number(f"window {i} duration_s", w.duration_s, maximum=MAX_DURATION_S)
    _number(f"window {i} energy_kwh", w.energy_kwh, maximum=MAX_ENERGY_KWH)
    _number(f"window {i} co2_kg", w.co2_kg, optional=True, maximum=MAX_ENERGY_KWH)
    _number(f"window {i} uncertainty_pct", w.uncertainty_pct, maximum=1000)
    _components(f"window {i} ", w.components)
    _int(f"window {i} count", w.count)
    if w.count < 1:
        raise InvalidRecordError(f"window {i} count is {w.count!r}, not >= 1")
    _text(f"window {i} stage", w.stage, optional=True)
    if not isinstance(w.metrics, dict):
        raise InvalidRecordError(f"window {i} metrics are not a mapping")
    for name, value in w.metrics.items():
        _text(f"window {i} metric name", name)
        _number(f"window {i} metric {name}", value, minimum=-math.inf)


def check_run(run: Run) -> None:
    """Raise :class:`InvalidRecordError` (the first problem) unless every field has its type and a
    possible value: text is UTF-8 without control characters, numbers finite and in range
    (energy, CO2, duration >= 0; PUE >= 1), times ISO 8601 with a zone."""
    _text("run_id", run.run_id)
    if not run.run_id.strip():
        raise InvalidRecordError("run_id is empty")
    _text("project", run.project)
    _text("experiment", run.experiment, optional=True)
    if not isinstance(run.tags, tuple):
        raise InvalidRecordError("tags are not a list")
    for tag in run.tags:
        _text("a tag", tag)
    _instant("started_at", run.started_at)
    _instant("ended_at", run.ended_at, optional=True)
    _number("duration_s", run.duration_s, maximum=MAX_DURATION_S)
    _number("energy_kwh", run.energy_kwh, maximum=MAX_ENERGY_KWH)
    _number("co2_kg", run.co2_kg, optional=True, maximum=MAX_ENERGY_KWH)
    _text("zone", run.zone, optional=True)
    _number("intensity_g_per_kwh", run.intensity_g_per_kwh, optional=True, maximum=1e5)
    _text("intensity_source", run.intensity_source, optional=True)
    _text("intensity_basis", run.intensity_basis, optional=True)
    _number("pue", run.pue, minimum=1.0, maximum=10.0)
    _text("scope", run.scope)
    _number("uncertainty_pct", run.uncertainty_pct, maximum=1000)
    _int("exit_code", run.exit_code, optional=True)
    _int("signal", run.signal, optional=True)
    _number("cost", run.cost, optional=True, maximum=MAX_ENERGY_KWH * 1e3)
    _text("error", run.error, optional=True, lines=True)
    _text("host", run.host)
    _text("user", run.user)
    if run.status not in STATUSES:
        raise InvalidRecordError(f"status is {run.status!r}, not one of {', '.join(STATUSES)}")
    if not isinstance(run.warnings, tuple):
        raise InvalidRecordError("warnings are not a list")
    for warning in run.warnings:
        _text("a warning", warning, lines=True)
    if run.command is not None and (
        not isinstance(run.command, tuple) or not all(isinstance(a, str) for a in run.command)
    ):
        raise InvalidRecordError("command is not a list of text")
    _components("", run.components)
    _int("items", run.items, optional=True)
    _int("epochs", run.epochs, optional=True)
    if (run.items or 0) < 0 or (run.epochs or 0) < 0:
        raise InvalidRecordError("items and epochs must be >= 0")
    if not isinstance(run.packages, dict):
        raise InvalidRecordError("packages are not a mapping")
    for name, version in run.packages.items():
        _text("a package name", name)
        _text(f"package {name} version", version)
    p = run.prediction
    if p is not None:
        for field in (
            "energy_kwh",
            "energy_low_kwh",
            "energy_high_kwh",
            "duration_s",
            "duration_low_s",
            "duration_high_s",
        ):
            _number(f"prediction {field}", getattr(p, field), maximum=MAX_ENERGY_KWH * 1e3)
        for field in (
            "co2_kg",
            "co2_low_kg",
            "co2_high_kg",
            "cost",
            "outcome_energy_kwh",
            "outcome_duration_s",
            "best_start_co2_kg",
            "co2_if_started_now_kg",
        ):
            _number(
                f"prediction {field}",
                getattr(p, field),
                optional=True,
                maximum=MAX_ENERGY_KWH * 1e3,
            )
        _int("prediction after_epochs", p.after_epochs)
        _int("prediction epochs_planned", p.epochs_planned)
        _int("prediction outcome_epochs", p.outcome_epochs, optional=True)
        _instant("prediction best_start_at", p.best_start_at, optional=True)
    if run.overhead is not None:
        _number("overhead energy_kwh", run.overhead.energy_kwh, maximum=MAX_ENERGY_KWH)
        _number("overhead cpu_s", run.overhead.cpu_s, maximum=MAX_DURATION_S)
        _number("overhead io_bytes", run.overhead.io_bytes, maximum=2**63)
    if not isinstance(run.windows, tuple):
        raise InvalidRecordError("windows are not a list")
    for i, w in enumerate(run.windows):
        _window(i, w)
    if run.job is not None:
        _job(run.job)


def _job(job: object) -> None:
    from wattprint.records.run import JobInfo, NodeShare

    if not isinstance(job, JobInfo):
        raise InvalidRecordError("job is not a mapping")
    _text("job job_id", job.job_id)
    _text("job launcher", job.launcher)
    _text("job node_id", job.node_id, optional=True)
    _int("job rank", job.rank, optional=True)
    _int("job world_size", job.world_size, optional=True)
    _int("job expected_nodes", job.expected_nodes, optional=True)
    for name in ("nodes", "missing_ranks", "missing_nodes"):
        if not isinstance(getattr(job, name), tuple):
            raise InvalidRecordError(f"job {name} is not a list")
    for r in job.missing_ranks:
        _int("job missing rank", r)
    for n in job.missing_nodes:
        _text("job missing node", n)
    for node in job.nodes:
        if not isinstance(node, NodeShare):
            raise InvalidRecordError("a job node is not a mapping")
        _text("job node node_id", node.node_id)
        _text("job node host", node.host)
        _text("job node run_id", node.run_id)
        _number("job node energy_kwh", node.energy_kwh, maximum=MAX_ENERGY_KWH)
        _number("job node co2_kg", node.co2_kg, optional=True, maximum=MAX_ENERGY_KWH)
        _number("job node uncertainty_pct", node.uncertainty_pct, maximum=1000)
        _int("job node measured_by", node.measured_by, optional=True)
        if not isinstance(node.ranks, tuple):
            raise InvalidRecordError("job node ranks are not a list")
        for r in node.ranks:
            _int("job node rank", r)
