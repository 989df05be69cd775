"""One background thread per process that reads every running meter on its own interval.

However many trackers run, there is one daemon thread; it sleeps until the next meter is due,
so an idle process pays nothing between ticks. The thread is process-wide state by nature; it
lives in one object, created on first use and replaced in a forked child (``os.fork`` copies
no threads, so the child's copy would be dead): the child starts with no meters — the parent's
trackers belong to the parent — and a tracker started in the child gets a live thread.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
import time
from typing import Protocol


class Tickable(Protocol):
    def tick(self) -> object: ...


class Sampler:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the schedule
        # Held while nobody needs the thread; add()/remove() release it to wake the thread
        # early. A bare lock with a timeout is the cheapest sleep that can be interrupted
        # (about 20 % cheaper per wake than a Condition here).
        self._wake = threading.Lock()
        self._wake.acquire()
        self._due: list[tuple[float, int, Tickable]] = []  # heap of (due time, seq, meter)
        self._interval: dict[int, float] = {}  # id(meter) -> seconds
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        # Held for the length of a tick; fork() waits for it (see _Shared.before_fork).
        self.tick_lock = threading.Lock()
        self.errors = 0

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # already released: a wake-up is pending
            self._wake.release()

    def add(self, meter: Tickable, interval_s: float, first_in_s: float | None = None) -> None:
        """Tick ``meter`` every ``interval_s``; the first tick after ``first_in_s`` (default:
        one interval)."""
        first = interval_s if first_in_s is None else first_in_s
        with self._lock:
            self._interval[id(meter)] = interval_s
            heapq.heappush(self._due, (time.monotonic() + first, next(self._seq), meter))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="wattprint-sampler", daemon=True
                )
                self._thread.start()
        self._notify()

    def remove(self, meter: Tickable) -> None:
        with self._lock:
            self._interval.pop(id(meter), None)
            self._due = [e for e in self._due if e[2] is not meter]
            heapq.heapify(self._due)
        self._notify()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._due:
                    # Nothing to sample: let the thread end; add() starts a new one.
                    self._thread = None
                    return
                due_at, _, meter = self._due[0]
                now = time.monotonic()
                wait_s = due_at - now
                if wait_s <= 0:
                    heapq.heappop(self._due)
                    interval_s = self._interval.get(id(meter))
                    if interval_s is not None:
                        # Schedule from the due time, not from now, so ticks do not drift;
                        # after a long stall (suspend) restart from now.
                        nxt = due_at + interval_s
                        heapq.heappush(
                            self._due,
                            (nxt if nxt >= now else now + interval_s, next(self._seq), meter),
                        )
            if wait_s > 0:
                # locked again afterwards either way
                self._wake.acquire(timeout=min(wait_s, threading.TIMEOUT_MAX))
                continue
            with self.tick_lock:
                try:
                    meter.tick()
                except Exception:  # a faulty meter must not stop the others  # noqa: BLE001
                    self.errors += 1


FORK_WAIT_S = 3.0


class _Shared:
    """Holder of the process's sampler, reset after fork."""

    def __init__(self) -> None:
        self.sampler: Sampler | None = None
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self._forking: Sampler | None = None

    def get(self) -> Sampler:
        with self.lock:
            if self.sampler is None or self.pid != os.getpid():
                self.sampler, self.pid = Sampler(), os.getpid()
            return self.sampler

    def before_fork(self) -> None:
        """Let a tick in progress finish first: a fork in the middle of one would copy into
        the child whatever it held (a module's import lock while it lazily imports the run
        store, SQLite's mutexes while it checkpoints), and the child would hang on them."""
        sampler = self.sampler
        # Bounded: a tick stuck behind something slow must not freeze the program's forks.
        if sampler is not None and sampler.tick_lock.acquire(timeout=FORK_WAIT_S):
            self._forking = sampler

    def after_fork_in_parent(self) -> None:
        if self._forking is not None:
            self._forking.tick_lock.release()
            self._forking = None

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()
        self.sampler, self.pid, self._forking = None, os.getpid(), None


_shared = _Shared()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_shared.before_fork,
        after_in_parent=_shared.after_fork_in_parent,
        after_in_child=_shared.after_fork_in_child,
    )


def shared_sampler() -> Sampler:
    """The process's sampler (created on first use, fresh in a forked child)."""
    return _shared.get()
