"""A run's named parts: windows, epochs (windows with metrics), stages and item counts.

The Tracker owns one :class:`WindowBook` per run and forwards ``begin_window``/``end_window``,
``epoch``/``start_training``/``stop_training`` (Eco2AI's ``new_epoch``), ``stage`` and
``count`` to it. Each edge is a full reading of every sensor (after the framework sync), so a
window's energy is exact to the edge; closed windows go to a bounded :class:`WindowLog`.

Epochs follow Eco2AI's usage: ``start_training()`` opens epoch 1, ``epoch(**metrics)`` (or
``new_epoch(metrics)``) closes the current epoch with its metrics and opens the next, and
``stop_training()`` ends training (time after the last epoch call is no epoch). After
``predict_after`` epochs, with the planned number of epochs known, the whole training's
energy, CO2, duration and cost are predicted (:mod:`wattprint.records.predict`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

from wattprint.errors import ConfigError, TrackerStateError
from wattprint.records.build import WindowLog, build_window, components_between
from wattprint.records.context import iso_utc
from wattprint.records.run import Prediction, Window

TYPE_CHECKING = False
if TYPE_CHECKING:
    from wattprint.meter import Meter, Snapshot
    from wattprint.warn import Warn

TRAIN = "train"
MAX_METRICS = 64


class _Edge:
    __slots__ = ("snap", "stage", "wall")

    def __init__(self, snap: Snapshot, wall: datetime, stage: str | None) -> None:
        self.snap, self.wall, self.stage = snap, wall, stage


def check_metrics(values: Mapping[str, object]) -> dict[str, float]:
    """Metrics as a record keeps them: text names, finite numbers (a framework's tensors and
    numpy scalars are numbers too); anything else is a one-line error."""
    if len(values) > MAX_METRICS:
        raise ConfigError(f"{len(values)} metrics for one epoch; give at most {MAX_METRICS}")
    out: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name or any(c < " " for c in name):
            raise ConfigError(f"metric name {name!r} must be plain text, e.g. loss=0.25")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(
                f"metric {name}={value!r} is not a number; give e.g. {name}=0.25"
            ) from None
        if not math.isfinite(number):
            raise ConfigError(f"metric {name}={value!r} is not finite")
        out[name] = number
    return out


class WindowBook:
    """Open windows, closed ones, epochs, the current stage and item counts of one run."""

    def __init__(
        self,
        meter: Meter,
        read: Callable[[], Snapshot],
        co2_kg: Callable[[float], float | None],
        warn: Warn,
        start: tuple[Snapshot, datetime],
        on_epoch: Callable[[WindowBook, Window], None] | None = None,
    ) -> None:
        self._meter, self._read, self._co2_kg, self._warn = meter, read, co2_kg, warn
        self._run_start = start
        self._on_epoch = on_epoch  # after each epoch: prediction, progress line
        self.prediction: Prediction | None = None
        self._open: dict[str, _Edge] = {}
        self.log = WindowLog()
        self._stages: list[str] = []
        self._epoch: _Edge | None = None  # the epoch in progress
        self.epochs_done = 0
        self.epochs_planned: int | None = None
        self.items = 0
        self.training_end: Snapshot | None = None  # the reading that closed the last epoch
        self.training_epochs = 0  # epochs of the current training (the run counts them all)
        self._epoch_windows: list[Window] = []  # for the prediction (bounded: see predict)
        self._training_started: _Edge | None = None

    # -- windows ---------------------------------------------------------------------------
    def begin(self, name: str, *, stage: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a window name must be a non-empty string, got {name!r}")
        if name in self._open:
            raise TrackerStateError(
                f"window {name!r} is already open; end_window({name!r}) first or use another name"
            )
        self._open[name] = _Edge(self._read(), datetime.now(timezone.utc), stage)

    def end(self, name: str, metrics: Mapping[str, object] | None = None) -> Window:
        edge = self._open.pop(name, None)
        if edge is None:
            open_names = ", ".join(map(repr, self._open)) or "none"
            raise TrackerStateError(
                f"no open window named {name!r} (open: {open_names}); call begin_window() first"
            )
        return self._close(name, edge, self._read(), metrics or {})

    def _close(
        self, name: str, edge: _Edge, end: Snapshot, metrics: Mapping[str, object]
    ) -> Window:
        from wattprint.hints import hint_short_window

        meter = self._meter
        comps = components_between(meter, edge.snap, end)
        window = build_window(
            name,
            iso_utc(edge.wall),
            edge.snap,
            end,
            comps,
            self._co2_kg(sum(c.energy_kwh for c in comps)),
        )
        window = replace(window, metrics=check_metrics(metrics), stage=edge.stage)
        if self.log.add(window):
            self._warn(
                "windows:merged",
                f"more than {WindowLog.KEPT} windows: later ones are merged per name (see "
                "each window's count) so that the record stays small",
            )
        used = {meter.sensors[i].info.device for i, e in enumerate(end.energy_j) if e > 0}
        hint_short_window(window, used, self._warn)
        return window

    def close_all(self) -> None:
        """Close what is still open at stop (a warning each): windows, the epoch in progress
        is dropped (an epoch is what ``epoch()`` closed)."""
        self._epoch = None
        for name in list(self._open):
            self._warn(f"open:{name}", f"window {name!r} was still open at stop(); closed it")
            self.end(name)

    def windows(self) -> tuple[Window, ...]:
        return self.log.windows()

    # -- stages and items ------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """A stage of the lifecycle (``preprocess``, ``train``, ``eval``, ``inference``...):
        a window named ``stage:<name>``; windows opened inside carry the stage."""
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a stage name must be non-empty text, got {name!r}")
        window = f"stage:{name}"
        self.begin(window, stage=name)
        self._stages.append(name)
        try:
            yield
        finally:
            self._stages.pop()
            if window in self._open:  # stop() or end_window() may have closed it already
                self.end(window)

    @property
    def current_stage(self) -> str | None:
        return self._stages[-1] if self._stages else None

    def count(self, n: int) -> None:
        """``n`` more items (samples, requests) processed: energy per item in the record.
        Any integer type counts (numpy's too), not a bool."""
        import operator

        try:
            items = operator.index(n) if not isinstance(n, bool) else -1
        except TypeError:
            items = -1
        if items < 0:
            raise ConfigError(f"count({n!r}): give the number of items processed, e.g. 32")
        self.items += items

    # -- epochs ----------------------------------------------------------------------------
    def start_training(self, epochs: int | None = None) -> None:
        if epochs is not None and (
            isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1
        ):
            raise ConfigError(f"epochs={epochs!r}: give the planned number of epochs, e.g. 10")
        # A new training: its own epochs, planned count and prediction (the run keeps all).
        self.epochs_planned = epochs
        self.training_epochs = 0
        self._epoch_windows = []
        self.prediction = None
        edge = _Edge(self._read(), datetime.now(timezone.utc), self.current_stage or TRAIN)
        self._training_started = self._epoch = edge

    def epoch(self, metrics: Mapping[str, object], number: int | None = None) -> Window:
        """Close the epoch in progress with its metrics and open the next one at the same
        reading. Without ``start_training()`` the first epoch began when the run started."""
        checked = check_metrics(metrics)  # before anything changes: a bad metric loses nothing
        start = self._epoch
        if start is None:
            if self._training_started is not None:
                raise TrackerStateError(
                    "training was stopped; call start_training() again before epoch()"
                )
            start = self._training_started = _Edge(*self._run_start, self.current_stage or TRAIN)
        end = self._read()
        self.epochs_done += 1
        self.training_epochs += 1
        name = f"epoch {self.epochs_done if number is None else number}"
        window = self._close(name, start, end, checked)
        self.training_end = end
        self._epoch = _Edge(end, datetime.now(timezone.utc), start.stage)
        self._epoch_windows.append(window)
        if len(self._epoch_windows) > 4 * WindowLog.KEPT:
            self._epoch_windows = self._epoch_windows[-WindowLog.KEPT :]
        if self._on_epoch is not None:
            self._on_epoch(self, window)
        return window

    def stop_training(self) -> None:
        if self._epoch is None:
            raise TrackerStateError("training is not running; call start_training() first")
        self._epoch = None

    @property
    def training_start(self) -> Snapshot | None:
        """The reading the current training began with."""
        return self._training_started.snap if self._training_started is not None else None

    @property
    def epoch_windows(self) -> tuple[Window, ...]:
        return tuple(self._epoch_windows)
