"""Eco2AI's interface on wattprint's measurement: ``from wattprint.compat import eco2ai``.

An Eco2AI script runs unchanged::

    tracker = eco2ai.Tracker(project_name="mnist", file_name="emission.csv", alpha_2_code="DE")
    tracker.start_training()
    for epoch in range(10):
        train()
        tracker.new_epoch({"loss": loss, "accuracy": acc})
    tracker.stop_training()

and writes the CSV Eco2AI 0.3.12 writes, cell for cell (checked against a file the real
package wrote): a hyphenated UUID ``id`` per run, one row per run that is *updated* (not
appended again), one row per epoch in training with ``epoch`` as ``"epoch: 1, loss: 0.5, "``,
``start_time`` in local time, energy in kWh *including PUE*, ``CPU_name`` ``"{name}/{n}
device(s), TDP:{W}"``, ``GPU_name`` ``"{name} {n} device(s)"``, ``OS`` ``Linux``, ``cost``
a number (0 without pricing), ``region/country`` ``"DE"``, ``"DE/region"`` or ``"(DE)"`` with
``emission_level``. The numbers are wattprint's (counters where the machine has them, the
models otherwise), and each run is also a wattprint run in the store, with its epochs.

Differences, on purpose: without ``alpha_2_code`` (and no zone set for wattprint) Eco2AI
geolocates the machine by its IP; wattprint never guesses a location, so ``CO2_emissions(kg)``
is ``N/A`` then (and a warning says how to set it). ``encode_file`` (Eco2AI's encrypted copy)
is not supported. ``emission_level`` (kg per MWh = g/kWh) sets the CSV's CO2; the wattprint
record keeps the zone's intensity. Eco2AI's saved default parameters (``set_params``) are
not read: pass them to ``Tracker``.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import platform
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from wattprint.errors import ConfigError, IncorrectMethodSequenceError, WattprintWarning
from wattprint.records.exports import ECO2AI_COLUMNS
from wattprint.records.run import ComponentEnergy, Run, Window
from wattprint.tracker import Tracker as _WattprintTracker

F = TypeVar("F", bound=Callable[..., Any])
COLUMNS = ECO2AI_COLUMNS  # the same 13 columns Eco2AI 0.3.12 writes
NA = "N/A"


def _tariff(pricing: Mapping[str, float] | None) -> str | None:
    """Eco2AI's ``{"8:30-19:00": 0.2, "19:00-6:00": 0.1}`` as a wattprint tariff spec."""
    if pricing is None:
        return None
    if not isinstance(pricing, Mapping) or not pricing:
        raise ConfigError("electricity_pricing must be a dict like {'0:00-24:00': 0.3}")
    return ",".join(f"{span.strip()}={float(price)}" for span, price in pricing.items())


def _zone(alpha_2_code: str | None, region: str | None) -> str | None:
    if not alpha_2_code:
        return None
    if region:
        from wattprint.carbon import zones

        for candidate in (f"{alpha_2_code}-{region}", region):
            try:
                zone = zones.lookup_zone(candidate)
            except ConfigError:
                continue
            if zone.parent == alpha_2_code.upper() or zone.code == alpha_2_code.upper():
                return zone.code
    return alpha_2_code


def _cpu_cell(cpus: list[tuple[str, Mapping[str, object]]]) -> str:
    """``(device, details)`` of the CPU sensors as Eco2AI names them."""
    if not cpus:
        return f"{NA}/0 device(s), TDP:{NA}"
    device, details = cpus[0]
    name = details.get("matched_name") or details.get("reported_name") or device
    tdp = details.get("tdp_w")
    tdp_text = str(float(tdp)) if isinstance(tdp, (int, float)) else NA
    sockets = details.get("sockets") or len(cpus)
    return f"{name}/{sockets} device(s), TDP:{tdp_text}"


def _gpu_cell(comps: tuple[ComponentEnergy, ...]) -> str:
    gpus = [c for c in comps if c.name == "gpu"]
    return f"{gpus[0].device} {len(gpus)} device(s)" if gpus else " 0 device(s)"


class Tracker:
    """Eco2AI's ``Tracker`` (0.3.12 signature); see the module docstring."""

    def __init__(
        self,
        project_name: str | None = None,
        experiment_description: str | None = None,
        file_name: str | None = None,
        measure_period: float = 10,
        emission_level: float | None = None,
        alpha_2_code: str | None = None,
        region: str | None = None,
        cpu_processes: str = "current",
        pue: float = 1,
        encode_file: str | bool | None = None,
        electricity_pricing: Mapping[str, float] | None = None,
        ignore_warnings: bool = False,
        timezone: bool = False,
    ) -> None:
        if encode_file:
            raise ConfigError("encode_file is not supported by wattprint's Eco2AI interface")
        if cpu_processes not in ("current", "all"):
            raise ConfigError("cpu_processes must be 'current' or 'all' (as in Eco2AI)")
        if emission_level is not None and not (
            isinstance(emission_level, (int, float)) and emission_level >= 0
        ):
            raise ConfigError(f"emission_level={emission_level!r}: give kg of CO2 per MWh")
        self.project_name = project_name or "Default project name"
        self.experiment_description = experiment_description or "no experiment description"
        self.file_name = file_name or "emission.csv"
        self.emission_level = emission_level
        self._alpha_2_code = alpha_2_code
        self._region = region
        self._ignore_warnings = ignore_warnings
        self._options: dict[str, object] = {
            "project": self.project_name,
            "experiment": self.experiment_description,
            "interval_s": min(max(float(measure_period), 0.01), 3600.0),
            "scope": "process" if cpu_processes == "current" else "machine",
            "pue": pue,
            "tariff": _tariff(electricity_pricing),
            "zone": _zone(alpha_2_code, region),
        }
        self._tracker: _WattprintTracker | None = None
        self._new_tracker()  # every option checked now, before any work runs
        self._id = ""
        self._training = False
        self._epoch = 1
        self._epoch_started = 0.0
        self._started = 0.0

    # -- Eco2AI's methods --------------------------------------------------------------------
    def start(self) -> None:
        if self._training:
            raise IncorrectMethodSequenceError(
                'you already ran ".start_training": use ".new_epoch" and ".stop_training"'
            )
        self._begin()
        self._write(self._row(NA, None, None), update=True)  # the row exists from the start

    def stop(self) -> None:
        if self._training:
            self.stop_training()
            return
        tracker = self._running()
        run = self._quietly(tracker.stop)
        self._write(self._row(NA, run, None), update=True)

    def start_training(self, start_epoch: int = 1) -> None:
        if not isinstance(start_epoch, int):
            raise TypeError(f'"start_epoch" parameter must be of int type, not {type(start_epoch)}')
        self._begin()
        self._training = True
        self._epoch = start_epoch
        self._epoch_started = time.time()
        self._quietly(self._running().start_training)

    def new_epoch(self, parameters_dict: Mapping[str, object]) -> None:
        if not self._training:
            raise IncorrectMethodSequenceError(
                'you can run ".new_epoch" only after ".start_training"'
            )
        from wattprint.integrations import numbers

        window = self._quietly(self._running().epoch, **numbers(parameters_dict))
        text = (
            "epoch: "
            + str(self._epoch)
            + ", "
            + "".join(f"{key}: {value}, " for key, value in parameters_dict.items())
        )
        self._write(self._row(text, None, window))
        self._epoch += 1
        self._epoch_started = time.time()

    def stop_training(self) -> None:
        if not self._training:
            raise IncorrectMethodSequenceError('run ".start_training" before ".stop_training"')
        tracker = self._running()
        self._quietly(tracker.stop_training)
        self._quietly(tracker.stop)
        self._training = False

    # -- helpers ---------------------------------------------------------------------------
    def _new_tracker(self) -> _WattprintTracker:
        self._tracker = self._quietly(_WattprintTracker, **self._options)
        return self._tracker

    def _begin(self) -> None:
        tracker = self._tracker
        if tracker is not None and tracker.running:  # started again: the first run ends here
            run = self._quietly(tracker.stop)
            if not self._training:
                self._write(self._row(NA, run, None), update=True)
            self._training = False
        if tracker is None or tracker.running or tracker.run is not None:
            tracker = self._new_tracker()
        self._quietly(tracker.start)
        self._id = str(uuid.uuid4())
        self._started = time.time()

    def _running(self) -> _WattprintTracker:
        if self._tracker is None or not self._tracker.running:
            raise IncorrectMethodSequenceError(
                "start the tracker first: .start() or .start_training()"
            )
        return self._tracker

    def _quietly(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._ignore_warnings:
            return fn(*args, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WattprintWarning)
            return fn(*args, **kwargs)

    def _row(self, epoch: str, run: Run | None, window: Window | None) -> list[str]:
        tracker = self._tracker
        assert tracker is not None
        pue = tracker.pue
        if window is not None:
            started, seconds = self._epoch_started, window.duration_s
            kwh, comps = window.energy_kwh * pue, window.components
        elif run is not None:
            started, seconds = self._started, run.duration_s
            kwh, comps = run.energy_kwh * pue, run.components
        else:
            started, seconds, kwh, comps = self._started, 0.0, 0.0, ()
        co2 = self._co2_kg(kwh)
        cost = self._cost(run, window, kwh)
        final = run or tracker.run
        return [
            self._id,
            self.project_name,
            self.experiment_description,
            epoch,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            str(float(seconds)),
            str(float(kwh)),
            NA if co2 is None else str(float(co2)),
            self._cpu(final),
            _gpu_cell(comps),
            platform.system() or NA,
            self._country(),
            cost,
        ]

    def _cpu(self, run: Run | None) -> str:
        if run is not None:
            return _cpu_cell([(c.device, c.details) for c in run.component("cpu")])
        meter = self._tracker.meter if self._tracker is not None else None
        sensors = meter.sensors if meter is not None else ()
        return _cpu_cell(
            [(s.info.device, s.info.details) for s in sensors if str(s.info.component) == "cpu"]
        )

    def _co2_kg(self, kwh_with_pue: float) -> float | None:
        if self.emission_level is not None:
            return kwh_with_pue * float(self.emission_level) / 1000
        tracker = self._tracker
        intensity = tracker.carbon.intensity if tracker is not None else None
        if intensity is None:
            return None
        return kwh_with_pue * intensity.intensity_g_per_kwh / 1000

    def _cost(self, run: Run | None, window: Window | None, kwh_with_pue: float) -> str:
        if self._options["tariff"] is None:
            return "0"
        if run is not None and run.cost is not None:
            return str(float(run.cost))
        tracker = self._tracker
        tariff = tracker.carbon.tariff if tracker is not None else None
        if tariff is None:
            return "0"
        from datetime import datetime, timezone

        return str(float(tariff.price_at(datetime.now(timezone.utc)) * kwh_with_pue))

    def _country(self) -> str:
        code = self._alpha_2_code
        zone = self._tracker.zone if self._tracker is not None else None
        if self.emission_level is not None:
            return f"({code or zone or 'custom'})"
        if code and self._region:
            return f"{code}/{self._region}"
        return code or zone or NA

    def _write(self, row: list[str], *, update: bool = False) -> None:
        """Add ``row``, or with ``update`` replace the row of the same id; the whole file is
        rewritten atomically under Eco2AI's lock file, so a reader never sees half of it."""
        from wattprint.records.exports import _eco2ai_lock_file
        from wattprint.records.paths import write_atomic

        path = self.file_name
        with _eco2ai_lock_file(path):
            rows: list[list[str]] = []
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path, encoding="utf-8", newline="") as f:
                    rows = list(csv.reader(f))
                if rows and rows[0][: len(COLUMNS)] != COLUMNS:
                    raise ConfigError(
                        f"{path} is not an Eco2AI emission file (other columns); "
                        "give another file_name"
                    )
                rows = rows[1:]
            width = len(COLUMNS)
            row = row + [NA] * (width - len(row))
            if update and any(r and r[0] == self._id for r in rows):
                rows = [row if r and r[0] == self._id else r for r in rows]
            else:
                rows.append(row)
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(r + [NA] * (width - len(r)) for r in rows)
            write_atomic(path, buf.getvalue())

    @property
    def run(self) -> Run | None:
        """The wattprint record of the last run (None while it runs)."""
        return self._tracker.run if self._tracker is not None else None


def track(func: F) -> F:
    """Eco2AI's decorator: a default Tracker around each call."""

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        tracker = Tracker()
        tracker.start()
        try:
            return func(*args, **kwargs)
        finally:
            tracker.stop()

    return inner  # type: ignore[return-value]


__all__ = ["IncorrectMethodSequenceError", "Tracker", "track"]
