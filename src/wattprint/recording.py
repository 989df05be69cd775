"""Keeps a running Tracker's record in the run store, so that no run is ever lost.

The run is written when it starts, checkpointed from the sampler thread every
``checkpoint_s`` (energy so far, timeline, windows), and finished at stop. A process killed
in between (SIGKILL, OOM killer, node failure) leaves its row "running" with the energy of
the last checkpoint; the store marks it "interrupted" when it next reads a row whose process
is gone. A store that fails mid-run costs a warning, never the user's job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wattprint.errors import WattprintError
from wattprint.records.run import Run, TimelineData

if TYPE_CHECKING:
    from wattprint.meter import Meter
    from wattprint.records.store import RunStore

DISABLED = ("off", "none", "0", "false", "no")


def store_path(db: str | os.PathLike[str] | bool | None) -> tuple[Path | None, bool]:
    """(path, explicit) of the store to record into; path None when recording is off.
    ``db=None`` means $WATTPRINT_DB or the platform's user data directory."""
    from wattprint.records.store_db import ENV_DB, default_db_path

    if db is False:
        return None, True
    if db is None or db is True:
        env = os.environ.get(ENV_DB, "").strip()
        if env.lower() in DISABLED:
            return None, True
        return default_db_path(), bool(env)
    return Path(db), True


def timeline_data(meter: Meter, live: list[int], keys: list[str]) -> TimelineData:
    tl = meter.timeline
    t0 = tl.t_s[0] if len(tl.t_s) else 0.0
    return TimelineData(
        t_s=tuple(t - t0 for t in tl.t_s),
        energy_j={key: tuple(tl.energy_j[i]) for i, key in zip(live, keys, strict=True)},
    )


class Recorder:
    """One run's life in the store. All methods swallow store failures into ``warn``."""

    def __init__(
        self, path: Path, warn: Callable[[str, str], None], checkpoint_s: float = 10.0
    ) -> None:
        self.path = path
        self._warn = warn
        self.checkpoint_s = checkpoint_s
        self._store: RunStore | None = None
        self._last_checkpoint = 0.0

    def begin(self, run: Run) -> None:
        try:
            from wattprint.records.store import RunStore

            self._store = RunStore(self.path)
            self._store.begin(run, os.getpid())
            self._last_checkpoint = time.monotonic()
        except (WattprintError, OSError) as exc:
            self._fail("begin", exc)

    def due(self) -> bool:
        return (
            self._store is not None
            and time.monotonic() - self._last_checkpoint >= self.checkpoint_s
        )

    def checkpoint(self, run: Run, timeline: TimelineData | None) -> None:
        if self._store is None:
            return
        self._last_checkpoint = time.monotonic()
        try:
            self._store.checkpoint(run, timeline)
        except (WattprintError, OSError) as exc:
            self._fail("checkpoint", exc, keep=True)

    def finish(self, run: Run, timeline: TimelineData | None) -> None:
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.finish(run, timeline)
            from wattprint.records.signing import key_from_env, sign_pending

            key = key_from_env()
            if key is not None:
                sign_pending(store, key)
        except (WattprintError, OSError) as exc:
            self._fail("finish", exc)
        finally:
            store.close()

    def _fail(self, what: str, exc: BaseException, keep: bool = False) -> None:
        self._warn(
            f"store:{what}",
            f"could not {what} the run in the store {self.path}: {exc}"
            f"{'; will retry at the next checkpoint' if keep else ''}",
        )
        if not keep and self._store is not None:
            self._store.close()
            self._store = None
