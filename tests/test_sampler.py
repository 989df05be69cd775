"""The shared sampler thread, with real (tiny) intervals and bounded waits.

``CountingMeter`` stands in for :class:`wattprint.meter.Meter` at the sampler's boundary (the
``Tickable`` protocol: one ``tick()`` method); it records which thread ticked it and when.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from wattprint.sampler import Sampler, _Shared, shared_sampler

DEADLINE_S = 2.0


class CountingMeter:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.ticks = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def tick(self) -> object:
        with self._lock:
            self.ticks += 1
            self.threads.add(threading.get_ident())
        if self.fail:
            raise RuntimeError("faulty meter")
        return None

    @property
    def count(self) -> int:
        with self._lock:
            return self.ticks


def wait_for(cond: Callable[[], bool], deadline_s: float = DEADLINE_S) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.002)
    return cond()


class TrackedSampler(Sampler):
    """A Sampler that remembers what was added, so a test can leave no thread behind."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[CountingMeter] = []

    def add(self, meter: CountingMeter, interval_s: float) -> None:  # type: ignore[override]
        self.added.append(meter)
        super().add(meter, interval_s)


@pytest.fixture
def sampler() -> Iterator[TrackedSampler]:
    s = TrackedSampler()
    yield s
    for meter in s.added:
        s.remove(meter)
    assert wait_for(lambda: not s.running)


def test_one_thread_serves_meters_on_their_own_intervals(sampler: TrackedSampler) -> None:
    quick, slow = CountingMeter(), CountingMeter()
    sampler.add(quick, 0.01)
    sampler.add(slow, 0.05)
    assert wait_for(lambda: slow.count >= 4)
    n_quick, n_slow = quick.count, slow.count
    sampler.remove(quick)
    sampler.remove(slow)
    assert n_quick > 2 * n_slow  # ~5x in theory; loaded CI machines stretch it
    assert quick.threads == slow.threads
    assert len(quick.threads) == 1
    assert quick.threads != {threading.get_ident()}


def test_remove_stops_that_meter_only(sampler: TrackedSampler) -> None:
    kept, removed = CountingMeter(), CountingMeter()
    sampler.add(kept, 0.01)
    sampler.add(removed, 0.01)
    assert wait_for(lambda: removed.count >= 2)
    sampler.remove(removed)
    after_remove = removed.count
    start = kept.count
    assert wait_for(lambda: kept.count >= start + 5)
    # At most one tick that was already in flight when remove() was called.
    assert removed.count <= after_remove + 1
    settled = removed.count
    assert wait_for(lambda: kept.count >= start + 10)
    assert removed.count == settled


def test_thread_ends_without_meters_and_restarts_on_add(sampler: TrackedSampler) -> None:
    meter = CountingMeter()
    sampler.add(meter, 0.01)
    assert sampler.running
    assert wait_for(lambda: meter.count >= 1)
    sampler.remove(meter)
    assert wait_for(lambda: not sampler.running)
    ticks_then = meter.count
    again = CountingMeter()
    sampler.add(again, 0.01)
    assert sampler.running
    assert wait_for(lambda: again.count >= 2)
    assert meter.count == ticks_then


def test_a_failing_meter_does_not_stop_the_others(sampler: TrackedSampler) -> None:
    bad, good = CountingMeter(fail=True), CountingMeter()
    sampler.add(bad, 0.01)
    sampler.add(good, 0.01)
    assert wait_for(lambda: bad.count >= 3 and good.count >= 3)
    assert sampler.errors >= 3
    assert sampler.errors <= bad.count
    assert sampler.running


def test_a_meter_added_while_waiting_is_served_on_time(sampler: TrackedSampler) -> None:
    """The thread sleeps until the next due meter; add() must wake it for a sooner one."""
    slow, quick = CountingMeter(), CountingMeter()
    sampler.add(slow, 30.0)
    time.sleep(0.02)  # the thread is now asleep until the slow meter is due
    t0 = time.monotonic()
    sampler.add(quick, 0.01)
    assert wait_for(lambda: quick.count >= 3, deadline_s=1.0)
    assert time.monotonic() - t0 < 1.0
    assert slow.count == 0


def test_shared_sampler_is_one_per_process() -> None:
    assert shared_sampler() is shared_sampler()


def test_shared_holder_gives_a_fresh_sampler_when_the_pid_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pid check covers a fork that bypassed os.register_at_fork (e.g. a raw syscall)."""
    holder = _Shared()
    first = holder.get()
    assert holder.get() is first
    monkeypatch.setattr(os, "getpid", lambda: -1)
    second = holder.get()
    assert second is not first
    assert holder.get() is second


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads, Python 3.12+
def test_forked_child_gets_a_fresh_working_sampler() -> None:
    parent_sampler = shared_sampler()
    parent_meter = CountingMeter()
    parent_sampler.add(parent_meter, 0.01)
    try:
        assert wait_for(lambda: parent_meter.count >= 1)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: report through the pipe, then leave without cleanup
            try:
                child_sampler = shared_sampler()
                fresh = child_sampler is not parent_sampler
                same_again = shared_sampler() is child_sampler
                idle = not child_sampler.running
                meter = CountingMeter()
                child_sampler.add(meter, 0.01)
                ticks = wait_for(lambda: meter.count >= 2)
                os.write(w, f"{fresh} {same_again} {idle} {ticks}".encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as pipe:
            report = pipe.read()
        os.waitpid(pid, 0)
        assert report == "True True True True"
        assert shared_sampler() is parent_sampler  # the parent's is untouched
        start = parent_meter.count
        assert wait_for(lambda: parent_meter.count > start)
    finally:
        parent_sampler.remove(parent_meter)


def test_fork_waits_for_a_tick_in_progress() -> None:
    """A fork in the middle of a tick would copy the locks the tick holds (an import lock, a
    SQLite mutex) into the child, which would hang on them; fork() waits for the tick."""
    import threading

    from wattprint.sampler import shared_sampler

    entered, release = threading.Event(), threading.Event()

    class Slow:
        def tick(self) -> None:
            entered.set()
            release.wait(2)

    sampler = shared_sampler()
    slow = Slow()
    sampler.add(slow, 10.0, first_in_s=0.0)
    assert entered.wait(2)
    timer = threading.Timer(0.2, release.set)
    timer.start()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    waited_s = time.monotonic() - t0
    os.waitpid(pid, 0)
    sampler.remove(slow)
    assert waited_s >= 0.15  # the fork waited for the tick to end
