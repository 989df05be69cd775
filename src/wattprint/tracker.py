"""Public measurement API: :class:`Tracker` and named windows.

The Tracker owns a run's lifecycle — start, windows, the background sampler, stop — and
delegates everything else: settings to :mod:`wattprint.settings`, sensors to
:mod:`wattprint.sensors.discovery`, readings to :class:`~wattprint.meter.Meter`, records to
:mod:`wattprint.records.build`, the store to :mod:`wattprint.records.recorder`, and carbon
(zone, PUE, bins, cost, marginal, embodied) to :mod:`wattprint.carbon.finalize`.

Importing this module loads only the standard library's basics and the settings table: the
sensors, the meter, records and carbon are imported when a Tracker first starts.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings

from wattprint.errors import ConfigError, TrackerStateError, WattprintWarning
from wattprint.settings import resolve
from wattprint.warn import user_stacklevel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from wattprint.carbon.plan import CarbonPlan
    from wattprint.meter import Meter, Snapshot
    from wattprint.records.build import WindowLog
    from wattprint.records.recorder import Recorder, RunTicker
    from wattprint.records.run import LiveView, Run, Window
    from wattprint.sensors.base import Sensor
    from wattprint.sensors.discovery import HardwareOptions
    from wattprint.sensors.usage import OwnUse
    from wattprint.settings import Settings

__all__ = ["LiveView", "Tracker"]


def __getattr__(name: str) -> object:  # LiveView lives with the records; loaded on first use
    if name == "LiveView":
        from wattprint.records.run import LiveView

        return LiveView
    raise AttributeError(f"module 'wattprint.tracker' has no attribute {name!r}")


class _Edge:
    """A window's (or the run's) first reading and its wall-clock time."""

    __slots__ = ("snap", "wall")

    def __init__(self, snap: Snapshot, wall: datetime) -> None:
        self.snap, self.wall = snap, wall


class Tracker:
    """Measures the energy (and, with a zone, the CO2) of the code between start and stop.

    >>> with wattprint.Tracker(project="demo", zone="DE") as t:
    ...     train()
    >>> t.run.energy_kwh, t.run.co2_kg

    ``settings``: already resolved :class:`~wattprint.settings.Settings` (the CLI's), instead
    of keywords. Keywords are the settings of :mod:`wattprint.settings` (``project``,
    ``zone``, ``scope``, ``interval_s``, ``pue``, ``db``, ``tags``...; ``wattprint settings``
    lists them), each falling back to its environment variable, the config file, then its
    default. Besides:
    ``json_path`` (write the record at stop), ``pid`` (measure that process tree instead of
    this one), ``command`` (recorded with the run); and for tests ``hardware``, ``sensors``,
    ``clock`` and ``background``.

    ``scope="process"`` (default) attributes to this process and its children their share of
    each component's use; ``scope="machine"`` reports the whole machine (or cgroup). Energy at
    ``stop()`` and at window edges is read from the sensors at that instant, so a short window
    is as exact as a long run; the background sampler keeps counters from wrapping unseen,
    records the timeline and checkpoints the record in the run store.
    """

    def __init__(
        self,
        project: str | None = None,
        *,
        json_path: str | os.PathLike[str] | None = None,
        pid: int | None = None,
        command: Sequence[str] | None = None,
        hardware: HardwareOptions | None = None,
        sensors: Sequence[Sensor] | None = None,
        clock: Callable[[], float] | None = None,
        background: bool = True,
        settings: Settings | None = None,
        **options: object,
    ) -> None:
        if settings is not None and (options or project is not None):
            raise ConfigError("give either settings= (already resolved) or setting keywords")
        s = self.settings = settings or resolve({"project": project, **options})
        self.project, self.scope, self.zone = s.project, s.scope, s.zone
        self.interval_s, self.checkpoint_s = s.interval_s, s.checkpoint_s
        self.experiment, self.tags = s.experiment, s.tags
        if pid is not None:
            _check_pid(pid, os.fspath(hardware.proc_dir) if hardware is not None else "/proc")
        if command is not None and (
            isinstance(command, str) or not all(isinstance(c, str) for c in command)
        ):
            raise ConfigError(f"command={command!r} must be a list of strings, e.g. ['ls', '-l']")
        self.command = tuple(command) if command is not None else None
        from wattprint.carbon.plan import CarbonPlan

        self.carbon: CarbonPlan = CarbonPlan.from_settings(s)
        self.zone = self.carbon.zone
        self.pue = self.carbon.pue
        self._signing_key = s.signing_key.encode() if s.signing_key else None
        if s.db is not None and not s.store_off:
            # An explicit store must work; the default one is a convenience that must never
            # stop the user's job (a failure there is a warning, at its first write).
            from wattprint.records.paths import check_store_path

            check_store_path(s.db)
        self._json_path = None
        if json_path is not None:
            from pathlib import Path

            from wattprint.records.paths import check_output_path

            if not isinstance(json_path, (str, os.PathLike)) or not os.fspath(json_path):
                raise ConfigError(f"json_path={json_path!r} is not a file path")
            self._json_path = Path(json_path)
            check_output_path(self._json_path)
        self._hardware_override = hardware
        self._pid_root = pid
        self._sensors_override = list(sensors) if sensors is not None else None
        self._clock = clock
        self._background = background
        self._lock = threading.Lock()
        self._meter: Meter | None = None
        self._start: _Edge | None = None
        self._identity: dict[str, object] = {}
        self._ticker: RunTicker | None = None
        self._own: OwnUse | None = None
        self._recorder: Recorder | None = None
        self._stored = False
        self._reset()
        self.run: Run | None = None

    def _reset(self) -> None:
        self._open: dict[str, _Edge] = {}
        self._windows: WindowLog | None = None  # created with the record modules
        self._warned: set[str] = set()
        self._messages: list[str] = []
        self._owner_pid: int | None = None
        self._error: str | None = None
        self._forced_status: str | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, *, record_now: bool = False) -> Tracker:
        """Begin measuring. The run's first row reaches the store on the sampler's first tick,
        off this thread; ``record_now=True`` writes it here before returning (``wattprint
        run`` does, so that a job killed at once still leaves its run)."""
        if self._meter is not None:
            raise TrackerStateError(
                "this Tracker is already running; stop() it first or create another"
            )
        import time
        from datetime import datetime, timezone

        from wattprint.meter import Meter
        from wattprint.records import context
        from wattprint.sensors.discovery import discover
        from wattprint.sensors.usage import OwnUse, UsageProbe

        self._reset()  # a Tracker may be reused
        self._owner_pid = os.getpid()
        hw = self._hardware()
        if self._sensors_override is not None:
            sensors, reader, cgroup = self._sensors_override, None, None
        else:
            found = discover(hw)
            sensors, reader, cgroup = found.sensors, found.disk_reader, found.busy_cgroup
            for msg in found.warnings:
                self._warn(msg, msg)
        root = (self._pid_root or os.getpid()) if self.scope == "process" else None
        own = self._own = OwnUse()
        probe = UsageProbe(root, proc_dir=hw.proc_dir, cgroup=cgroup, disks=reader, own=own)
        meter = Meter(
            sensors, probe, self.scope, clock=self._clock or time.monotonic, warn=self._warn
        )
        wall = datetime.now(timezone.utc)
        with own.measure():
            first = meter.begin()
        self._start = _Edge(first, wall)
        self._meter = meter
        from wattprint import __version__

        # The record's fixed fields (the record modules load at the first record, on the
        # sampler's first tick, not here).
        self._identity = dict(
            run_id=os.urandom(16).hex(),  # 128 random bits, as uuid4's hex (no uuid import)
            project=self.project,
            scope=self.scope,
            started_at=context.iso_utc(wall),
            experiment=self.experiment,
            tags=self.tags,
            command=self.command,
            host=context.hostname(),
            user=context.user_name(),
            git_commit=context.git_commit(),
            python_version=context.python_version(),
            wattprint_version=__version__,
        )
        if not self.settings.store_off:
            from pathlib import Path

            from wattprint.records.recorder import Recorder

            db = self.settings.db
            self._recorder = Recorder(
                Path(db) if db else None, self._warn, self.checkpoint_s, self._signing_key
            )
        if self._recorder is not None and (record_now or not self._background):
            with own.measure():  # the store's write is wattprint's, not the tree's I/O
                self._recorder.begin(self._record(self._start.snap, "running"))
        if self._background:
            self._schedule(meter)
        atexit.register(self._at_exit)
        return self

    def _hardware(self) -> HardwareOptions:
        from wattprint.sensors.discovery import HardwareOptions

        return (self._hardware_override or HardwareOptions()).with_settings(self.settings)

    def _schedule(self, meter: Meter) -> None:
        """Hand the run to the process's sampler thread: meter ticks, plus the record's first
        row and checkpoints when the run is kept in a store."""
        from wattprint.sampler import shared_sampler

        assert self._start is not None
        every_s = min(self.interval_s, meter.max_interval_s)
        from wattprint.records.recorder import RunTicker

        assert self._own is not None
        if self._recorder is None:
            self._ticker = RunTicker(meter, self._own)
            shared_sampler().add(self._ticker, every_s)
            return
        # Checkpoints ride on ticks, so tick at least as often as they are due.
        every_s = min(every_s, self.checkpoint_s)
        self._ticker = RunTicker(
            meter,
            self._own,
            self._recorder,
            lambda snap: self._record(snap, "running"),
            self._start.snap,
        )
        # The first tick, at once, writes the run's first row off the caller's path.
        shared_sampler().add(self._ticker, every_s, first_in_s=0.0)

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
        meter, start = self._require_running()
        for name in list(self._open):
            self._warn(f"open:{name}", f"window {name!r} was still open at stop(); closed it")
            self.end_window(name)
        if self._ticker is not None:
            from wattprint.sampler import shared_sampler

            shared_sampler().remove(self._ticker)  # first, so no tick lands after the final read
            self._ticker = None
        atexit.unregister(self._at_exit)
        self._synchronize()
        end = self._read(meter)
        from wattprint.hints import hint_idle_gpus
        from wattprint.records.build import timeline_of
        from wattprint.records.context import iso_utc

        hint_idle_gpus(meter.sensors, self._warn)
        failed = self._error is not None or bool(exit_code) or signal is not None
        status = self._forced_status or ("failed" if failed else "finished")
        from datetime import datetime, timezone

        run = self._record(
            end,
            status,
            exit_code=exit_code,
            signal=signal,
            ended_at=iso_utc(datetime.now(timezone.utc)),
        )
        timeline = timeline_of(meter, end)
        run = self.carbon.finalize(run, timeline, start.wall, self._warn)
        recorder, self._recorder = self._recorder, None
        self._stored = False
        if recorder is not None:
            self._stored = recorder.finish(run, timeline_of(meter))
        from dataclasses import replace

        run = replace(run, warnings=tuple(self._messages))  # every warning, the store's too
        meter.close()
        self._meter, self._start, self.run = None, None, run
        if self._json_path is not None:
            from wattprint.records.paths import write_atomic

            write_atomic(self._json_path, run.to_json() + "\n")
        return run

    def _record(
        self,
        end: Snapshot,
        status: str,
        *,
        exit_code: int | None = None,
        signal: int | None = None,
        ended_at: str | None = None,
    ) -> Run:
        """The record from the start to the reading ``end`` (used at checkpoints and stop)."""
        meter, start, identity = self._meter, self._start, self._identity
        if meter is None or start is None:
            raise TrackerStateError("the run has stopped")
        from wattprint.records.build import build_run, components_between
        from wattprint.records.context import loaded_packages
        from wattprint.records.run import J_PER_KWH, Overhead

        own = self._own
        overhead = (
            Overhead(meter.own_energy_j / J_PER_KWH, own.cpu_s, own.io_b)
            if own is not None
            else None
        )

        comps = components_between(meter, start.snap, end)
        return build_run(
            identity,
            start.snap,
            end,
            comps,
            self.carbon.record_fields(sum(c.energy_kwh for c in comps)),
            status=status,
            samples=meter.reads,
            windows=self._windows.windows() if self._windows is not None else (),
            warnings=tuple(self._messages),
            error=self._error,
            exit_code=exit_code,
            signal=signal,
            ended_at=ended_at,
            packages=loaded_packages(),
            overhead=overhead,
        )

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.stop()
            return
        self.fail(f"{type(exc).__name__}: {exc}")
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
        return self._read(meter)

    @property
    def meter(self) -> Meter | None:
        """The running meter (sensors, timeline, gaps), for diagnostics; None when stopped.
        Displays should use :meth:`live`."""
        return self._meter

    def live(self) -> LiveView | None:
        """The run so far — elapsed time, energy, power per component over the last sampling
        interval, CO2 at the bundled intensity — from the latest reading; None when stopped.
        Reads no sensor, so it is cheap enough for a status line or a callback."""
        meter, start = self._meter, self._start
        if meter is None or start is None:
            return None
        from wattprint.records.build import live_view

        return live_view(meter, start.snap, self.carbon.co2_kg)

    # -- windows -------------------------------------------------------------------------
    def begin_window(self, name: str) -> None:
        """Open a named window. Windows may nest and overlap; names must be unique while open."""
        meter, _ = self._require_running()
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a window name must be a non-empty string, got {name!r}")
        if name in self._open:
            raise TrackerStateError(
                f"window {name!r} is already open; end_window({name!r}) first or use another name"
            )
        from datetime import datetime, timezone

        self._synchronize()
        self._open[name] = _Edge(self._read(meter), datetime.now(timezone.utc))

    def end_window(self, name: str) -> Window:
        """Close a window and return its record (CO2 at the bundled intensity until stop(),
        which prices every window with the run's own time bins)."""
        meter, _ = self._require_running()
        edge = self._open.pop(name, None)
        if edge is None:
            open_names = ", ".join(map(repr, self._open)) or "none"
            raise TrackerStateError(
                f"no open window named {name!r} (open: {open_names}); call begin_window() first"
            )
        from wattprint.hints import hint_short_window
        from wattprint.records.build import build_window, components_between
        from wattprint.records.context import iso_utc

        self._synchronize()
        end = self._read(meter)
        comps = components_between(meter, edge.snap, end)
        co2_kg = self.carbon.co2_kg(sum(c.energy_kwh for c in comps))
        window = build_window(name, iso_utc(edge.wall), edge.snap, end, comps, co2_kg)
        from wattprint.records.build import WindowLog

        if self._windows is None:
            self._windows = WindowLog()
        if self._windows.add(window):
            self._warn(
                "windows:merged",
                f"more than {WindowLog.KEPT} windows: later ones are merged per name (see "
                "each window's count) so that the record stays small",
            )
        used = {meter.sensors[i].info.device for i, e in enumerate(end.energy_j) if e > 0}
        hint_short_window(window, used, self._warn)
        return window

    @property
    def windows(self) -> tuple[Window, ...]:
        return self._windows.windows() if self._windows is not None else ()

    # -- helpers -------------------------------------------------------------------------
    def _read(self, meter: Meter) -> Snapshot:
        """A reading of every sensor now, its cost counted as wattprint's own."""
        assert self._own is not None
        with self._own.measure():
            return meter.read()

    def _synchronize(self) -> None:
        """Let queued GPU kernels finish, so their energy lands in the window that ran them."""
        if self.settings.sync == "auto":
            from wattprint.sync import synchronize

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

    @property
    def stored(self) -> bool:
        """Whether the last stopped run reached the run store."""
        return self._stored

    def fail(self, error: str) -> None:
        """Mark the running run as failed with ``error`` (it is recorded at stop())."""
        self._error = error

    def co2_kg(self, energy_kwh: float) -> float | None:
        """CO2e of an energy at this tracker's zone and PUE, None without a zone."""
        return self.carbon.co2_kg(energy_kwh)

    def _warn(self, key: str, message: str) -> None:
        """Show a warning once per key, attributed to the user's code (the first frame outside
        wattprint), and keep it for the record."""
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
            self._messages.append(message)
        warnings.warn(message, WattprintWarning, stacklevel=user_stacklevel())


def _check_pid(pid: object, proc_dir: str) -> None:
    """A process to measure must be one that exists now (a pid past the kernel's range or
    of no process would silently measure 0 J)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31:
        raise ConfigError(f"pid={pid!r} is not a process id; give a positive int, or None")
    if os.path.isdir(proc_dir):
        alive = os.path.isdir(os.path.join(proc_dir, str(pid)))
    else:  # no procfs (macOS): ask the kernel
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True  # someone else's process
    if not alive:
        raise ConfigError(f"pid={pid} is no running process; give one that runs")
