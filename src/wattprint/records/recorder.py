"""Keeps a running Tracker's record in the run store, so that no run is ever lost.

The run is written when it starts (from the sampler thread, so ``start()`` stays cheap),
checkpointed from the sampler thread every ``checkpoint_s`` (energy so far, components,
windows), and finished at stop with its timeline. A process killed in between (SIGKILL, OOM
killer, node failure) leaves its row "running" with the energy of the last checkpoint; the
store marks it "interrupted" when it next reads a row whose process is gone. A store that
fails mid-run costs a warning, never the user's job.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wattprint.errors import WattprintError

if TYPE_CHECKING:
    from wattprint.meter import Meter, Snapshot
    from wattprint.records.run import Run, TimelineData
    from wattprint.records.store import RunStore
    from wattprint.sensors.usage import OwnUse

TICK_LOCK_TIMEOUT_S = 2.0
FINISH_LOCK_TIMEOUT_S = 60.0


def db_target(db: str) -> Path | str:
    """The db setting as a store target: a file's Path, or a PostgreSQL URL as it is."""
    from wattprint.records.paths import postgres_url

    return db if postgres_url(db) else Path(db)


class Recorder:
    """One run's life in the store; thread-safe (the sampler thread begins and checkpoints,
    the caller's thread finishes). Store failures become warnings."""

    def __init__(
        self,
        path: Path | str | None,
        warn: Callable[[str, str], None],
        checkpoint_s: float = 10.0,
        signing_key: bytes | None = None,
    ) -> None:
        # None: the user data directory's store, resolved at the first write. A PostgreSQL
        # URL is kept to connect with; messages show `shown` (no password).
        self.path = path
        self._warn = warn
        self._signing_key = signing_key
        self.checkpoint_s = checkpoint_s
        self._store: RunStore | None = None
        self._begun = False
        self._inserted = False  # the run's first row is in the store
        self._failed = False
        self._lock = threading.Lock()
        self._last_checkpoint = time.monotonic()

    def _open(self) -> RunStore | None:
        if self._store is None and not self._failed:
            from wattprint.records.store import RunStore
            from wattprint.records.store_db import default_db_path

            try:
                if self.path is None:
                    self.path = default_db_path()
                # Short lock waits on the sampler thread: a tick must not stall sampling (or
                # a fork, which waits for the tick) behind another process's long write.
                self._store = RunStore(self.path, lock_timeout_s=TICK_LOCK_TIMEOUT_S)
            except (WattprintError, OSError) as exc:
                self._fail("open", exc)
        return self._store

    @property
    def shown(self) -> str:
        """The store as messages name it (a URL without its password)."""
        from wattprint.records.paths import shown_store

        return shown_store(self.path)

    def warn(self, key: str, message: str) -> None:
        self._warn(key, message)

    @property
    def begun(self) -> bool:
        return self._begun

    def begin(self, run: Run) -> None:
        with self._lock:
            if self._begun:
                return
            self._begun = True
            store = self._open()
            if store is None:
                return
            try:
                store.begin(run, os.getpid())
                self._inserted = True
            except (WattprintError, OSError) as exc:  # a checkpoint or finish() inserts it
                self._warn(
                    "store:begin",
                    f"could not write the run's first row to {self.shown}: "
                    f"{exc}; will retry at the next checkpoint",
                )
            self._last_checkpoint = time.monotonic()

    def due(self) -> bool:
        return (
            self._begun
            and not self._failed
            and time.monotonic() - self._last_checkpoint >= self.checkpoint_s
        )

    def checkpoint(self, run: Run, timeline: TimelineData | None = None) -> None:
        with self._lock:
            store = self._store
            if store is None:
                return
            self._last_checkpoint = time.monotonic()
            try:
                if not self._inserted:  # the first row's write failed: insert it now
                    store.begin(run, os.getpid())
                    self._inserted = True
                store.checkpoint(run, timeline)
            except (WattprintError, OSError) as exc:
                self._warn(
                    "store:checkpoint",
                    f"could not checkpoint the run in {self.shown}: "
                    f"{exc}; will retry at the next checkpoint",
                )

    def finish(self, run: Run, timeline: TimelineData | None) -> bool:
        """Store the final record; True if it reached the store."""
        with self._lock:
            self._begun = True
            store = self._open()  # also when begin never ran: finish() inserts the run
            if store is None:
                return False
            store.lock_timeout_s = FINISH_LOCK_TIMEOUT_S  # the caller's thread may wait longer
            try:
                store.finish(run, timeline)
            except (WattprintError, OSError) as exc:
                self._fail("finish", exc)
                store.close()
                return False
            try:
                if self._signing_key is not None:
                    from wattprint.records.signing import sign_pending

                    sign_pending(store, self._signing_key)
            except (WattprintError, OSError) as exc:
                self._warn("store:sign", f"the run is stored in {self.shown} but not signed: {exc}")
            finally:
                store.close()
                self._store = None
            return True

    def _fail(self, what: str, exc: BaseException) -> None:
        self._failed = True
        self._warn(
            f"store:{what}",
            f"could not {what} the run in the store {self.shown}: {exc}; "
            "this run is not recorded there",
        )
        if self._store is not None:
            self._store.close()
            self._store = None


class RunTicker:
    """What the sampler ticks for a running tracker, all of it measured as wattprint's own
    use (``own``): a meter reading, then — with a store — the record's first row (on the
    first tick, so ``start()`` need not wait for the store) or a checkpoint when one is due.
    ``record(snapshot)`` builds the run's record up to a reading."""

    def __init__(
        self,
        meter: Meter,
        own: OwnUse,
        recorder: Recorder | None = None,
        record: Callable[[Snapshot], Run] | None = None,
        first: Snapshot | None = None,
    ) -> None:
        self._meter, self._own, self._recorder = meter, own, recorder
        self._record, self._first = record, first

    def tick(self) -> None:
        # CPU for the whole tick; storage I/O only around the store's writes (and the first
        # tick, which also loads the record modules), since reading procfs and sysfs does none.
        with self._own.measure(io=False):
            self._tick()

    def _tick(self) -> None:
        recorder, record = self._recorder, self._record
        if recorder is not None and record is not None and not recorder.begun:
            with self._own.measure_io():
                try:
                    run = record(self._first) if self._first is not None else None
                except Exception:  # noqa: BLE001 - stop() raced this tick; it ends the record
                    return
                if run is not None:
                    recorder.begin(run)
            return
        snap = self._meter.tick()
        if snap is None or recorder is None or record is None or not recorder.due():
            return
        with self._own.measure_io():
            try:
                run = record(snap)
            except Exception as exc:  # noqa: BLE001 - stop() may have raced this tick
                recorder.warn("checkpoint", f"could not checkpoint the run: {exc}")
                return
            recorder.checkpoint(run)  # the timeline is written once, at stop


def schedule(
    meter: Meter,
    own: OwnUse,
    every_s: float,
    recorder: Recorder | None,
    record: Callable[[Snapshot], Run],
    first: Snapshot,
    checkpoint_s: float,
) -> RunTicker:
    """Give the process's sampler thread a run to tick every ``every_s``: its meter, and with
    a store its first row (at once, off the caller's path) and checkpoints (ticks come at
    least every ``checkpoint_s`` then, since checkpoints ride on them)."""
    from wattprint.sampler import shared_sampler

    if recorder is None:
        ticker = RunTicker(meter, own)
        shared_sampler().add(ticker, every_s)
        return ticker
    ticker = RunTicker(meter, own, recorder, record, first)
    shared_sampler().add(ticker, min(every_s, checkpoint_s), first_in_s=0.0)
    return ticker
