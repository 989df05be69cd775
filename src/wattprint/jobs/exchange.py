"""Passing small JSON messages between a job's ranks through the key-value store that
torch.distributed already runs for the job (its rendezvous ``TCPStore``): no server of our
own, no pickle (values are JSON text, parsed with ``json.loads`` only), and nobody blocks on a
rank that died — rank 0 polls with a deadline and records what did not arrive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol


class KeyValue(Protocol):
    """The part of ``torch.distributed.Store`` used here."""

    def set(self, key: str, value: str) -> None: ...

    def check(self, keys: list[str]) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def add(self, key: str, amount: int) -> int: ...


def torch_store() -> KeyValue | None:
    """The default process group's store, when torch.distributed is initialised (torch is
    never imported here: only looked up if the program already did)."""
    import sys

    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    c10d = sys.modules.get("torch.distributed.distributed_c10d")
    get_store = getattr(c10d, "_get_default_store", None)
    if get_store is None:  # a torch without it: callers fall back to the environment
        return None
    store: KeyValue = get_store()
    return store


class Exchange:
    """Messages of one tracking session of one job: ``prefix`` keeps sessions apart."""

    def __init__(
        self,
        store: KeyValue,
        prefix: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.prefix, self.clock, self.sleep = store, prefix, clock, sleep

    def put(self, topic: str, rank: int, doc: Any) -> None:
        self.store.set(f"{self.prefix}/{topic}/{rank}", json.dumps(doc, allow_nan=False))

    def collect(self, topic: str, ranks: list[int], timeout_s: float) -> dict[int, Any]:
        """Each rank's message on ``topic`` that arrives within ``timeout_s``; the missing
        are left out (the caller says so). Messages that are not JSON are left out too."""
        deadline = self.clock() + timeout_s
        waiting = set(ranks)
        got: dict[int, Any] = {}
        pause = 0.005
        while waiting:
            for rank in sorted(waiting):
                key = f"{self.prefix}/{topic}/{rank}"
                if self.store.check([key]):
                    waiting.discard(rank)
                    try:
                        got[rank] = json.loads(self.store.get(key))
                    except (ValueError, UnicodeDecodeError):
                        continue
            if not waiting or self.clock() >= deadline:
                break
            self.sleep(pause)
            pause = min(0.1, pause * 2)
        return got


def session_prefix(store: KeyValue, job_id: str, rank: int, name: str) -> str:
    """A prefix for this tracking session: the n-th JobTracker of project ``name`` a rank
    starts gets n, the same n on every rank that runs the same code (ranks must open their
    trackers of one project in the same order; other projects do not shift the count)."""
    from urllib.parse import quote

    key = quote(name, safe="")
    n = store.add(f"wattprint/{job_id}/sessions/{key}/{rank}", 1)
    return f"wattprint/{job_id}/{key}/{n}"


def shared_job_id(store: KeyValue, rank: int) -> str:
    """A job id for a job no launcher named: rank 0 draws it, the others read it (waiting as
    long as the store's own timeout, at start, when every rank is alive)."""
    import os

    key = "wattprint/unnamed-job-id"
    if rank == 0 and not store.check([key]):
        store.set(key, "torch-" + os.urandom(6).hex())
    return store.get(key).decode("ascii", "replace")
