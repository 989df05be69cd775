"""Public measurement API: :class:`Tracker`, the :func:`track` decorator and named windows."""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wattprint.carbon import intensity as carbon
from wattprint.carbon.run_carbon import (
    account_marginal,
    account_run,
    marginal_from_env,
    provider_from_env,
    tariff_from,
)
from wattprint.errors import ConfigError, TrackerStateError, WattprintError, WattprintWarning
from wattprint.hints import hint_idle_gpus, hint_short_window, sensor_details
from wattprint.meter import SCOPES, Meter, Snapshot
from wattprint.records.context import git_commit, loaded_packages, python_version, user_name
from wattprint.records.jsonfile import check_json_path, write_json
from wattprint.records.recorder import Recorder, store_path, timeline_data
from wattprint.records.run import (
    J_PER_KWH,
    ComponentEnergy,
    Run,
    TimelineData,
    Window,
    combined_uncertainty_pct,
)
from wattprint.sampler import shared_sampler
from wattprint.sensors.base import Sensor
from wattprint.sensors.discovery import HardwareOptions, check_tdp_w, discover, env_tdp_w
from wattprint.sensors.usage import UsageProbe
from wattprint.sync import SYNC_MODES, synchronize

#: Faster sampling would cost more than it tells: counters are read at every window edge anyway.
MIN_INTERVAL_S = 0.01
MAX_INTERVAL_S = 3600.0
MAX_CHECKPOINT_S = 60.0
#: Uptime Institute Global Data Center Survey 2023: average annual PUE of the data centres
#: surveyed (1.58). For a generic data centre when the operator publishes nothing better.
DATACENTER_PUE = 1.58


def _region_pue(zone: str | None) -> float:
    """pue='cloud': the cloud region's published PUE, or a one-line error saying why not."""
    if zone is None or ":" not in zone:
        raise ConfigError(
            "pue='cloud' needs a cloud region as the zone, e.g. "
            "zone='gcp:europe-west4'; or give a number"
        )
    from wattprint.carbon.cloud import region_pue

    value = region_pue(zone)
    if value is None:
        raise ConfigError(
            f"no published PUE for {zone} in the bundled table; give a number, "
            f"or pue='datacenter' ({DATACENTER_PUE:g})"
        )
    return value


@dataclass(frozen=True)
class _Edge:
    snap: Snapshot
    wall: datetime


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hostname() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


def _new_run_id() -> str:
    import uuid  # deferred: only stop() needs it

    return uuid.uuid4().hex


def _version() -> str:
    from wattprint import __version__

    return __version__


def _check_number(name: str, value: object, *, minimum: float, inclusive: bool, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}; {hint}")
    v = float(value)
    ok = math.isfinite(v) and (v >= minimum if inclusive else v > minimum)
    if not ok:
        raise ConfigError(f"{name}={value!r} is out of range; {hint}")
    return v


class Tracker:
    """Measures the energy (and, with a zone, the CO2) of the code between start and stop.

    >>> with wattprint.Tracker(project="demo", zone="DE") as t:
    ...     train()
    >>> t.run.energy_kwh, t.run.co2_kg

    ``scope="process"`` (default) attributes to this process and its children their share of
    each component's use; ``scope="machine"`` reports the whole machine (or cgroup).
    Energy at ``stop()`` and at window edges is read from the sensors at that instant, so a
    short window is as exact as a long run; the background sampler only keeps counters from
    wrapping unseen and records the timeline.
    """

    def __init__(
        self,
        project: str = "default",
        *,
        zone: str | None = None,
        scope: str = "process",
        interval_s: float = 1.0,
        pue: float | str = 1.0,
        cpu_tdp_w: float | None = None,
        cpu_model: str | None = None,
        gpu_ids: Sequence[int | str] | None = None,
        pid: int | None = None,
        json_path: str | os.PathLike[str] | None = None,
        experiment: str | None = None,
        tags: Sequence[str] = (),
        db: str | os.PathLike[str] | bool | None = None,
        checkpoint_s: float = 10.0,
        command: Sequence[str] | None = None,
        sync: str = "auto",
        tariff: str | None = None,
        hardware: HardwareOptions | None = None,
        sensors: Sequence[Sensor] | None = None,
        clock: Callable[[], float] | None = None,
        background: bool = True,
    ) -> None:
        if not isinstance(project, str) or not project.strip():
            raise ConfigError(f"project must be a non-empty string, got {project!r}")
        if scope not in SCOPES:
            raise ConfigError(
                f"unknown scope {scope!r}; use scope='process' (this process "
                "tree, default) or scope='machine'"
            )
        self.project = project
        self.scope = scope
        self.interval_s = _check_number(
            "interval_s",
            interval_s,
            minimum=MIN_INTERVAL_S,
            inclusive=True,
            hint=f"give seconds between samples, {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g}, "
            "e.g. 1.0",
        )
        if self.interval_s > MAX_INTERVAL_S:
            raise ConfigError(
                f"interval_s={interval_s!r} is out of range; give seconds between samples, "
                f"{MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g}, e.g. 1.0"
            )
        pue_from_region = pue == "cloud"
        if pue == "datacenter":
            pue = DATACENTER_PUE
        self.pue = (
            1.0
            if pue_from_region
            else _check_number(
                "pue",
                pue,
                minimum=1.0,
                inclusive=True,
                hint="PUE is facility energy / IT energy, so >= 1.0 (1.0 = no overhead; "
                f"'datacenter' = {DATACENTER_PUE:g}, the industry average; 'cloud' = the cloud "
                "region's published PUE)",
            )
        )
        if cpu_tdp_w is not None:
            cpu_tdp_w = check_tdp_w(
                _check_number(
                    "cpu_tdp_w",
                    cpu_tdp_w,
                    minimum=0.0,
                    inclusive=False,
                    hint="give watts, e.g. 150",
                )
            )
        else:
            cpu_tdp_w = env_tdp_w()
        hw = hardware or HardwareOptions()
        if gpu_ids is not None and (
            isinstance(gpu_ids, (str, int)) or not all(isinstance(g, (int, str)) for g in gpu_ids)
        ):
            raise ConfigError(
                f"gpu_ids must be a list of GPU indices or UUIDs, e.g. [0, 1], got {gpu_ids!r}"
            )
        self._hardware = replace(
            hw,
            cpu_tdp_w=cpu_tdp_w if cpu_tdp_w is not None else hw.cpu_tdp_w,
            cpu_model=cpu_model or hw.cpu_model,
            gpu_ids=tuple(gpu_ids) if gpu_ids is not None else hw.gpu_ids,
        )
        if zone is not None and (not isinstance(zone, str) or not zone.strip()):
            raise ConfigError(
                "zone is empty; give a code such as 'DE' or 'US-CA', or leave it "
                "unset (no CO2 is computed then)"
            )
        self._zone_how: str | None = None
        if zone is not None:
            self._zone_how = "argument"
        else:
            from wattprint.carbon.location import resolve_zone
            from wattprint.errors import NoZoneError

            try:  # env, config file, then cloud metadata / IP geolocation if enabled
                resolution = resolve_zone(None)
                zone, self._zone_how = resolution.zone, resolution.how
            except NoZoneError:
                zone = None  # energy only: CO2 needs a zone, and none is ever guessed
        self.zone = zone
        self._intensity = carbon.lookup(zone) if zone else None
        if pue_from_region:
            self.pue = _region_pue(self._intensity.zone if self._intensity else None)
        # Cost and live intensity are opt-in: a tariff (argument or $WATTPRINT_TARIFF) and a
        # provider ($WATTPRINT_INTENSITY_PROVIDER); both are checked now, not at stop().
        self._tariff = tariff_from(tariff)
        self._provider = (
            provider_from_env() if os.environ.get("WATTPRINT_INTENSITY_PROVIDER") else None
        )
        self._marginal = (
            marginal_from_env() if os.environ.get("WATTPRINT_MARGINAL_PROVIDER") else None
        )
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise ConfigError(f"tags must be a list of non-empty strings, got {tags!r}")
        if sync not in SYNC_MODES:
            raise ConfigError(
                f"sync={sync!r} is unknown; use 'auto' (wait for queued torch/jax/cupy GPU work "
                "at window edges, default) or 'off'"
            )
        self._sync = sync == "auto"
        self.experiment = experiment
        self.tags = tuple(tags)
        self.command = tuple(command) if command is not None else None
        self.checkpoint_s = _check_number(
            "checkpoint_s",
            checkpoint_s,
            minimum=0.0,
            inclusive=False,
            hint="give seconds between checkpoints of the record, e.g. 10",
        )
        if self.checkpoint_s > MAX_CHECKPOINT_S:
            raise ConfigError(
                f"checkpoint_s={checkpoint_s!r} is too long: a killed run would lose that much "
                f"energy and could be taken for a dead one; give at most {MAX_CHECKPOINT_S:g} s"
            )
        self._db_path, explicit = store_path(db)
        if self._db_path is not None and explicit:
            # An explicit store must work; the default one is a convenience that must never
            # stop the user's job (a failure there is a warning, at its first write).
            from wattprint.records.store_db import check_writable

            check_writable(self._db_path)
        self._pid_root = pid
        self._json_path = Path(json_path) if json_path is not None else None
        if self._json_path is not None:
            check_json_path(self._json_path)
        self._sensors_override = list(sensors) if sensors is not None else None
        self._clock = clock or time.monotonic
        self._background = background
        self._meter: Meter | None = None
        self._start: _Edge | None = None
        self._open: dict[str, _Edge] = {}
        self._windows: list[Window] = []
        self._warned: set[str] = set()
        self._messages: list[str] = []
        self._lock = threading.Lock()
        self._owner_pid: int | None = None
        self._error: str | None = None
        self._recorder: Recorder | None = None
        self._stored = False
        self._ticker: _Ticker | None = None
        self._forced_status: str | None = None
        self._run_id = ""
        self._context: dict[str, Any] = {}
        self.run: Run | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Tracker:
        if self._meter is not None:
            raise TrackerStateError(
                "this Tracker is already running; stop() it first or create another"
            )
        self._owner_pid = os.getpid()
        self._open, self._windows, self._error = {}, [], None  # a Tracker may be reused
        self._forced_status = None
        self._warned, self._messages = set(), []
        hw = self._hardware
        if self._sensors_override is not None:
            sensors, reader, cgroup = self._sensors_override, None, None
        else:
            found = discover(hw)
            sensors, reader, cgroup = found.sensors, found.disk_reader, found.busy_cgroup
            for msg in found.warnings:
                self._warn(msg, msg)
        root = (self._pid_root or os.getpid()) if self.scope == "process" else None
        probe = UsageProbe(root, proc_dir=hw.proc_dir, cgroup=cgroup, disks=reader)
        self._meter = Meter(sensors, probe, self.scope, clock=self._clock, warn=self._warn)
        self._start = _Edge(self._meter.begin(), datetime.now(timezone.utc))
        self._run_id = _new_run_id()
        self._context = {
            "user": user_name(),
            "git_commit": git_commit(),
            "python_version": python_version(),
        }
        if self._db_path is not None:
            self._recorder = Recorder(self._db_path, self._warn, self.checkpoint_s)
        if self._background:
            # The sampler thread writes the run's first row at once, off the caller's path.
            self._ticker = _Ticker(self, self._meter)
            # Checkpoints ride on ticks, so tick at least as often as they are due.
            every_s = min(self.interval_s, self._meter.max_interval_s)
            if self._recorder is not None:
                every_s = min(every_s, self.checkpoint_s)
            shared_sampler().add(self._ticker, every_s, first_in_s=0.0)
        elif self._recorder is not None:
            self._recorder.begin(self._build_run(self._start.snap, "running"))
        atexit.register(self._at_exit)
        return self

    def _at_exit(self) -> None:
        """The interpreter is exiting with this run still open: record it as interrupted."""
        if self.running and self._owner_pid == os.getpid():
            exc = getattr(sys, "last_value", None)  # set when an exception ended the program
            if isinstance(exc, BaseException):
                self._error = self._error or f"{type(exc).__name__}: {exc}"
            else:
                self._forced_status = "interrupted"
                self._error = self._error or "the process exited without stopping the tracker"
            try:
                self.stop()
            except Exception as exc:  # noqa: BLE001 - nothing can be raised to anyone now
                warnings.warn(
                    f"could not record the run at exit: {exc}", WattprintWarning, stacklevel=1
                )

    def stop(self, *, exit_code: int | None = None, signal: int | None = None) -> Run:
        """End the run and return its record (also written to the store and ``json_path``).

        ``exit_code``/``signal``: how the measured command ended (``wattprint run`` sets them);
        a non-zero exit code, a signal or an exception raised in a ``with`` block mark the run
        "failed".
        """
        meter, _ = self._require_running()
        for name in list(self._open):
            self._warn(f"open:{name}", f"window {name!r} was still open at stop(); closed it")
            self.end_window(name)
        if self._background and self._ticker is not None:
            shared_sampler().remove(self._ticker)  # first, so no tick lands after the final read
            self._ticker = None
        atexit.unregister(self._at_exit)
        self._synchronize()
        end = meter.read()
        hint_idle_gpus(meter.sensors, self._warn)
        failed = self._error is not None or bool(exit_code) or signal is not None
        status = self._forced_status or ("failed" if failed else "finished")
        run = self._build_run(end, status, ended=True, exit_code=exit_code, signal=signal)
        run = self._account_carbon(run, end)
        run = _with_embodied(run)
        recorder, self._recorder = self._recorder, None
        self._stored = False
        if recorder is not None:
            self._stored = recorder.finish(run, self._timeline())
            run = replace(run, warnings=tuple(self._messages))  # store warnings, if any
        meter.close()
        self._meter, self._start, self.run = None, None, run
        if self._json_path is not None:
            write_json(run, self._json_path)
        return run

    def _build_run(
        self,
        end: Snapshot,
        status: str,
        *,
        ended: bool = False,
        exit_code: int | None = None,
        signal: int | None = None,
    ) -> Run:
        assert self._start is not None and self._meter is not None
        start = self._start
        comps = self._components(start.snap, end)
        energy_kwh = sum(c.energy_kwh for c in comps)
        intensity = self._intensity
        return Run(
            run_id=self._run_id,
            project=self.project,
            started_at=_iso(start.wall),
            duration_s=end.t_s - start.snap.t_s,
            energy_kwh=energy_kwh,
            co2_kg=self._co2_kg(energy_kwh),
            zone=intensity.zone if intensity else None,
            intensity_g_per_kwh=intensity.intensity_g_per_kwh if intensity else None,
            intensity_source=(
                f"{intensity.source}, {intensity.year or 'undated'}" if intensity else None
            ),
            pue=self.pue,
            components=comps,
            scope=self.scope,
            uncertainty_pct=combined_uncertainty_pct(comps),
            exit_code=exit_code,
            error=self._error,
            windows=tuple(self._windows),
            warnings=tuple(self._messages),
            wattprint_version=_version(),
            host=_hostname(),
            samples=self._meter.reads,
            status=status,
            ended_at=_iso(datetime.now(timezone.utc)) if ended else None,
            experiment=self.experiment,
            tags=self.tags,
            command=self.command,
            signal=signal,
            packages=loaded_packages(),
            zone_resolved_by=self._zone_how,
            **self._context,
        )

    def _timeline(self, end: Snapshot | None = None) -> TimelineData | None:
        """The timeline so far; with ``end``, ending exactly at that reading (the thinned
        timeline may have dropped it)."""
        meter = self._meter
        if meter is None:
            return None
        live = [i for i in range(len(meter.sensors)) if meter.is_live(i)]
        keys = [f"{meter.sensors[i].info.component}:{meter.sensors[i].info.device}" for i in live]
        data = timeline_data(meter, live, keys)
        if end is not None and self._start is not None:
            t_end = end.t_s - self._start.snap.t_s
            if not data.t_s or data.t_s[-1] < t_end:
                data = TimelineData(
                    t_s=(*data.t_s, t_end),
                    energy_j={
                        k: (*v, end.energy_j[i])
                        for (k, v), i in zip(data.energy_j.items(), live, strict=True)
                    },
                )
        return data

    def _account_carbon(self, run: Run, end: Snapshot) -> Run:
        """Time-binned CO2 (live provider) and cost (tariff), when either is configured;
        marginal emissions (WattTime) apart, when configured."""
        if self._marginal is not None and self._start is not None:
            timeline = self._timeline(end)
            assert timeline is not None
            provider, region = self._marginal
            try:
                marginal, problem = account_marginal(
                    provider, region, self._start.wall, run.duration_s, timeline, self.pue
                )
            except WattprintError as exc:
                marginal, problem = None, f"marginal emissions unavailable: {exc}"
            if problem:
                self._warn("carbon:marginal", problem)
            run = replace(run, marginal=marginal, warnings=tuple(self._messages))
        if self._intensity is None or (self._provider is None and self._tariff is None):
            return run
        timeline = self._timeline(end)
        assert timeline is not None and self._start is not None
        try:
            carbon = account_run(
                self._intensity,
                self._start.wall,
                run.duration_s,
                timeline,
                self.pue,
                provider=self._provider,
                tariff=self._tariff,
            )
        except WattprintError as exc:
            self._warn(
                "carbon",
                f"time-binned accounting failed ({exc}); CO2 uses the bundled yearly intensity",
            )
            return run
        if carbon.warning:
            self._warn("carbon:provider", carbon.warning)
        return replace(
            run,
            co2_kg=carbon.co2_kg,
            intensity_g_per_kwh=carbon.intensity_g_per_kwh,
            intensity_source=carbon.intensity_source,
            cost=carbon.cost,
            intensity_bins=carbon.bins,
            warnings=tuple(self._messages),
        )

    def _begin_record(self) -> bool:
        """From the sampler thread's first tick: write the run's first row. True if it did."""
        recorder, start = self._recorder, self._start
        if recorder is None or recorder.begun or start is None:
            return False
        try:
            run = self._build_run(start.snap, "running")
        except Exception:  # noqa: BLE001 - stop() raced this tick; it finishes the record
            return True
        recorder.begin(run)
        return True

    def _checkpoint(self, snap: Snapshot) -> None:
        """From the sampler thread: store the run so far when a checkpoint is due."""
        recorder = self._recorder
        if recorder is None or not recorder.due() or self._start is None:
            return
        try:
            run = self._build_run(snap, "running")
        except Exception as exc:  # noqa: BLE001 - stop() may have raced this tick
            self._warn("checkpoint", f"could not checkpoint the run: {exc}")
            return
        recorder.checkpoint(run)  # the timeline is written once, at stop

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.stop()
            return
        self._error = f"{type(exc).__name__}: {exc}"
        try:
            self.stop()
        except Exception as stop_exc:  # noqa: BLE001 - the user's exception must come through
            warnings.warn(f"could not record the run: {stop_exc}", WattprintWarning, stacklevel=2)

    @property
    def running(self) -> bool:
        return self._meter is not None

    def sample(self) -> Snapshot:
        """Read every sensor now (the background sampler does this every ``interval_s``)."""
        meter, _ = self._require_running()
        return meter.read()

    @property
    def meter(self) -> Meter | None:
        """The running meter (sensors, timeline, gaps), or None when stopped."""
        return self._meter

    # -- windows -------------------------------------------------------------------------
    def begin_window(self, name: str) -> None:
        """Open a named window. Windows may nest and overlap; names must be unique while open."""
        meter, _ = self._require_running()
        if name in self._open:
            raise TrackerStateError(
                f"window {name!r} is already open; end_window({name!r}) first or use another name"
            )
        self._synchronize()
        self._open[name] = _Edge(meter.read(), datetime.now(timezone.utc))

    def end_window(self, name: str) -> Window:
        meter, _ = self._require_running()
        edge = self._open.pop(name, None)
        if edge is None:
            open_names = ", ".join(map(repr, self._open)) or "none"
            raise TrackerStateError(
                f"no open window named {name!r} (open: {open_names}); call begin_window() first"
            )
        self._synchronize()
        end = meter.read()
        comps = self._components(edge.snap, end)
        energy_kwh = sum(c.energy_kwh for c in comps)
        window = Window(
            name,
            _iso(edge.wall),
            end.t_s - edge.snap.t_s,
            energy_kwh,
            self._co2_kg(energy_kwh),
            combined_uncertainty_pct(comps),
            comps,
        )
        self._windows.append(window)
        used = {meter.sensors[i].info.device for i, e in enumerate(end.energy_j) if e > 0}
        hint_short_window(window, used, self._warn)
        return window

    @property
    def windows(self) -> tuple[Window, ...]:
        return tuple(self._windows)

    # -- helpers -------------------------------------------------------------------------
    def _synchronize(self) -> None:
        """Let queued GPU kernels finish, so their energy lands in the window that ran them."""
        if self._sync:
            synchronize()

    def _require_running(self) -> tuple[Meter, _Edge]:
        if self._owner_pid is not None and self._owner_pid != os.getpid():
            raise TrackerStateError(
                f"this Tracker was started in process {self._owner_pid}; "
                "a forked child cannot use it: start a new Tracker there"
            )
        if self._meter is None or self._start is None:
            raise TrackerStateError(
                "this Tracker is not running; call start() or use it as a context manager"
            )
        return self._meter, self._start

    def _components(self, a: Snapshot, b: Snapshot) -> tuple[ComponentEnergy, ...]:
        assert self._meter is not None
        meter = self._meter
        out = []
        for i, sensor in enumerate(meter.sensors):
            if not meter.is_live(i):
                continue
            info = sensor.info
            out.append(
                ComponentEnergy(
                    name=str(info.component),
                    device=info.device,
                    energy_kwh=max(0.0, b.energy_j[i] - a.energy_j[i]) / J_PER_KWH,
                    method=info.method,
                    provenance=str(info.provenance),
                    uncertainty_pct=info.uncertainty_pct,
                    gap_s=meter.gap_s(i, a.t_s, b.t_s),
                    notes=info.notes,
                    details=sensor_details(sensor),
                )
            )
        return tuple(out)

    @property
    def stored(self) -> bool:
        """Whether the last stopped run reached the run store."""
        return self._stored

    def fail(self, error: str) -> None:
        """Mark the running run as failed with ``error`` (it is recorded at stop())."""
        self._error = error

    def co2_kg(self, energy_kwh: float) -> float | None:
        """CO2e of an energy at this tracker's zone and PUE, None without a zone."""
        return self._co2_kg(energy_kwh)

    def _co2_kg(self, energy_kwh: float) -> float | None:
        if self._intensity is None:
            return None
        return energy_kwh * self.pue * self._intensity.intensity_g_per_kwh / 1000

    def _warn(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
            self._messages.append(message)
        warnings.warn(message, WattprintWarning, stacklevel=3)


def _with_embodied(run: Run) -> Run:
    """Add the GPUs' amortised manufacturing footprint (reported apart from co2_kg)."""
    gpus = len({c.device for c in run.components if c.name == "gpu"})
    if not gpus:
        return run
    from wattprint.carbon.embodied import embodied_kg

    est = embodied_kg("gpu", gpus, run.duration_s)
    return replace(
        run,
        embodied_kgco2e={
            "kgco2e": est.kgco2e,
            "devices": gpus,
            "device_class": "gpu",
            "share_of_lifetime": est.share_of_lifetime,
            "uncertainty_pct": est.uncertainty_pct,
            "source": est.source,
            "note": "manufacturing, amortised linearly; not in co2_kg",
        },
    )


class _Ticker:
    """What the sampler calls for a running tracker: a meter tick, then a checkpoint of the
    record when one is due."""

    def __init__(self, tracker: Tracker, meter: Meter) -> None:
        self._tracker = tracker
        self._meter = meter

    def tick(self) -> None:
        if self._tracker._begin_record():
            return
        snap = self._meter.tick()
        if snap is not None:
            self._tracker._checkpoint(snap)
