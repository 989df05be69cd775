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
import time
import warnings

from wattprint.errors import ConfigError, TrackerStateError, WattprintWarning
from wattprint.settings import resolve
from wattprint.warn import user_stacklevel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from wattprint.carbon.plan import CarbonPlan
    from wattprint.meter import Meter, Snapshot
    from wattprint.records.recorder import Recorder, RunTicker
    from wattprint.records.run import JobInfo, LiveView, Run, TimelineData, Window
    from wattprint.records.windows import WindowBook
    from wattprint.sensors.base import Sensor
    from wattprint.sensors.discovery import HardwareOptions
    from wattprint.sensors.usage import OwnUse
    from wattprint.settings import Settings

__all__ = ["Tracker"]


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
        if s.network and s.scope != "machine":
            raise ConfigError(
                "network energy can only be estimated for the whole machine (no per-process "
                "byte counters exist): use scope='machine', or leave network off"
            )
        self.interval_s, self.checkpoint_s = s.interval_s, s.checkpoint_s
        self.experiment, self.tags = s.experiment, s.tags
        if pid is not None:
            from wattprint.sensors.usage import check_pid

            check_pid(pid, os.fspath(hardware.proc_dir) if hardware is not None else "/proc")
        from wattprint.records.context import command_line

        self.command = command_line(command)
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
            from wattprint.records.paths import output_path

            self._json_path = output_path(json_path, "json_path")
        self._hardware_override = hardware
        self._pid_root = pid
        self._sensors_override = list(sensors) if sensors is not None else None
        self._clock = clock
        self._background = background
        self._lock = threading.Lock()
        self._meter: Meter | None = None
        self._start: _Edge | None = None
        self._identity: dict[str, object] = {}
        # A multi-node job's place (wattprint.jobs sets it before start): in every checkpoint
        # of the record, so a node killed mid-run is still found by its job id.
        self.job: JobInfo | None = None
        self._ticker: RunTicker | None = None
        self._own: OwnUse | None = None
        self._recorder: Recorder | None = None
        self._stored = False
        self._reset()
        self.run: Run | None = None

    def _reset(self) -> None:
        self._book: WindowBook | None = None  # windows, epochs, stages: made on first use
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
        if self.job is not None:
            self._identity["job"] = self.job
        if not self.settings.store_off:
            from wattprint.records.recorder import Recorder, db_target

            db = self.settings.db
            self._recorder = Recorder(
                db_target(db) if db else None, self._warn, self.checkpoint_s, self._signing_key
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
        """Hand the run to the process's sampler thread (records/recorder.schedule)."""
        from wattprint.records.recorder import schedule

        assert self._start is not None and self._own is not None
        self._ticker = schedule(
            meter,
            self._own,
            min(self.interval_s, meter.max_interval_s),
            self._recorder,
            lambda snap: self._record(snap, "running"),
            self._start.snap,
            self.checkpoint_s,
        )

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

    def stop(
        self,
        *,
        exit_code: int | None = None,
        signal: int | None = None,
        complete: Callable[[Run, TimelineData], tuple[Run, TimelineData]] | None = None,
    ) -> Run:
        """End the run and return its record (also written to the store and ``json_path``).

        ``exit_code``/``signal``: how the measured command ended (``wattprint run`` sets them);
        a non-zero exit code, a signal or an exception raised in a ``with`` block mark the run
        "failed". ``complete``: turns the finished record and its timeline into what is stored
        and returned (a multi-node job's rank 0 makes the job's record of it).
        """
        meter, start = self._require_running()
        if self._book is not None:
            self._book.close_all()
            from wattprint.training import at_stop

            self._book.prediction = at_stop(self._book, self._book.prediction)
        if self._ticker is not None:
            from wattprint.sampler import shared_sampler

            shared_sampler().remove(self._ticker)  # first, so no tick lands after the final read
            self._ticker = None
        atexit.unregister(self._at_exit)
        end = self._edge(meter)
        from dataclasses import replace

        from wattprint.hints import hint_idle_gpus
        from wattprint.records.build import timeline_of
        from wattprint.records.context import iso_utc

        hint_idle_gpus(meter.sensors, self._warn)
        failed = self._error is not None or bool(exit_code) or signal is not None
        status = self._forced_status or ("failed" if failed else "finished")
        ended_at = iso_utc(time.time())
        run = self._record(end, status, exit_code=exit_code, signal=signal, ended_at=ended_at)
        timeline = timeline_of(meter, end)
        run = self.carbon.finalize(run, timeline, start.wall, self._warn)
        stored_timeline = timeline_of(meter)
        if complete is not None:
            try:
                run, stored_timeline = complete(run, stored_timeline)
            except Exception as exc:  # noqa: BLE001 - the node's own record is kept, said
                self._warn(
                    "complete",
                    f"could not make the job's record ({type(exc).__name__}: {exc}); this "
                    "node's own record is kept",
                )
        recorder, self._recorder = self._recorder, None
        self._stored = False
        if recorder is not None:
            self._stored = recorder.finish(run, stored_timeline)
        # every warning, the store's too (and a completed record's own)
        run = replace(run, warnings=tuple(dict.fromkeys([*self._messages, *run.warnings])))
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
        meter, start = self._meter, self._start
        if meter is None or start is None:
            raise TrackerStateError("the run has stopped")
        from wattprint.records.build import record_of

        return record_of(
            self._identity,
            meter,
            start.snap,
            end,
            self.carbon.record_fields,
            self._book,
            self._own,
            status=status,
            warnings=tuple(self._messages),
            error=self._error,
            exit_code=exit_code,
            signal=signal,
            ended_at=ended_at,
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

    # -- windows, epochs, stages -------------------------------------------------------
    def _windows(self) -> WindowBook:
        """The run's window book, made on first use (its modules load then, not at start)."""
        meter, start = self._require_running()
        if self._book is None:
            from functools import partial

            from wattprint.records.windows import WindowBook
            from wattprint.training import after_epoch

            self._book = WindowBook(
                meter,
                lambda: self._edge(meter),
                self.carbon.co2_kg,
                self._warn,
                (start.snap, start.wall),
                partial(after_epoch, self.settings, self.carbon),
            )
        return self._book

    def begin_window(self, name: str) -> None:
        """Open a named window. Windows may nest and overlap; names must be unique while open."""
        book = self._windows()
        book.begin(name, stage=book.current_stage)

    def end_window(self, name: str) -> Window:
        """Close a window and return its record (CO2 at the bundled intensity until stop(),
        which prices every window with the run's own time bins)."""
        return self._windows().end(name)

    def start_training(self, epochs: int | None = None) -> None:
        """Training starts: epoch 1 begins. ``epochs`` planned: for the prediction."""
        self._windows().start_training(epochs)

    def epoch(self, number: int | None = None, /, **metrics: object) -> Window:
        """The epoch in progress ends with its metrics (``loss=0.3, acc=0.9``); the next
        begins. ``number`` names it (default: counted from 1)."""
        return self._windows().epoch(metrics, number)

    def new_epoch(self, params: dict[str, object] | None = None) -> Window:
        """Eco2AI's name for :meth:`epoch`: ``new_epoch({"loss": 0.1})``."""
        return self.epoch(**(params or {}))

    def stop_training(self) -> None:
        """Training ends (what follows the last epoch() is not an epoch)."""
        self._windows().stop_training()

    def stage(self, name: str) -> AbstractContextManager[None]:
        """``with tracker.stage("eval"): ...``: a window ``stage:eval``; what opens inside it
        carries the stage."""
        return self._windows().stage(name)

    def count(self, n: int) -> None:
        """``n`` more items processed (samples, requests): energy and CO2 per item."""
        self._windows().count(n)

    @property
    def windows(self) -> tuple[Window, ...]:
        return self._book.windows() if self._book is not None else ()

    # -- helpers -------------------------------------------------------------------------
    def _edge(self, meter: Meter) -> Snapshot:
        """A window's edge: queued GPU work first, then a reading."""
        self._synchronize()
        return self._read(meter)

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
