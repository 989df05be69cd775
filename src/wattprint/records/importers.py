"""Run records in from files: our own CSV and JSON Lines, Eco2AI's and CodeCarbon's CSVs.

Every reader is strict about what it needs and lenient about the rest: extra columns are
ignored, empty cells and ``N/A``/``nan``/``None`` mean "not recorded", numbers may use any form
Python's ``float`` reads (``7.844e-05``). A bad file raises :class:`RecordImportError` naming
the file, the line (of the record's first line) and what is wrong.

Imported runs get deterministic ids: the tool's own id when the row has one, else a UUID 5
over the row's cells, so importing a file twice (into the store, say) never duplicates runs.
Other tools estimate; they report no uncertainty, so imported components carry
:data:`IMPORTED_UNCERTAINTY_PCT` and provenance ``estimated`` with method ``<tool>-import``.

**Eco2AI** (``eco2ai/emission_track.py``, ``Tracker._construct_attributes_dict``; sb-ai-lab/
Eco2AI 0.3.x). ``start_time`` is local time without a zone: read in ``tz`` (``import --tz``),
else as UTC, and the record says so (never this machine's zone: the file may come from another).
Its energy includes its PUE, which the file does not record: the run gets ``pue`` 1 and that
energy. Its file has no per-device energies unless written with ``device_consumption=True``
(``CPU/GPU/RAM_consumption(kWh)``): then they become cpu/gpu/ram components; otherwise the run
has *no* components and a warning says so, because DESIGN.md names components cpu|gpu|ram|
storage and the total mixes CPU, GPU and RAM: a lone "cpu" would invent a split, a "total"
component would break that contract. Rows sharing an ``id`` are the epochs of one training run
(Eco2AI's ``new_epoch``): they become one run with one window per epoch. ``region/country``
(``"DE"``, ``"DE/Bavaria"``, ``"(DE)"``, ``"WORLD"``) gives the zone: its country part as given
(``world`` for Eco2AI's world average); the full text goes to ``intensity_source``.

**CodeCarbon** (``codecarbon/output_methods/emissions_data.py``, ``EmissionsData``; and
``codecarbon/emissions_tracker.py``, ``_prepare_emissions_data``; mlco2/codecarbon 2.x).
``timestamp`` is local time without a zone (``datetime.now().strftime("%Y-%m-%dT%H:%M:%S")``)
taken when the data is written, i.e. the run's *end*: ``started_at = timestamp - duration``.
Energies (kWh) and ``emissions`` (kg) include ``pue`` (CodeCarbon multiplies each sample by it),
so they are divided by it to give our before-PUE ``energy_kwh``. ``flush()`` appends cumulative
rows with the same ``run_id``: the longest one is the run. The zone is ``country_iso_code`` as
given (ISO alpha-3, e.g. ``FRA``; kept as given, not looked up in wattprint's table);
``tracking_mode`` (machine/process) is the scope.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone, tzinfo
from functools import partial
from typing import Any

from wattprint.errors import InvalidRecordError, RecordImportError
from wattprint.records.context import iso_utc, parse_iso_utc
from wattprint.records.exports import (
    COMPONENT_NAMES,
    CSV_COLUMNS,
    ECO2AI_DEVICE_COLUMNS,
    split_list,
    unsafe_cell,
)
from wattprint.records.run import ComponentEnergy, Run, Window, combined_uncertainty_pct
from wattprint.records.validate import check_run

IMPORTED_UNCERTAINTY_PCT = 50.0  # the band we give other tools' model estimates
IMPORT_NAMESPACE = uuid.UUID("6f1b0c52-3c2e-5f8e-9a51-7c0d6b2a9e41")  # for uuid5 run ids
_MISSING = {"", "n/a", "na", "nan", "none", "null"}
_ECO2AI_REQUIRED = ["start_time", "duration(s)", "power_consumption(kWh)", "CO2_emissions(kg)"]
_CODECARBON_REQUIRED = ["timestamp", "duration", "emissions", "energy_consumed"]
_CPU_NAME_RE = re.compile(
    r"^(?P<name>.*)/(?P<n>\d+) device\(s\), TDP:(?P<tdp>\S*)(?: method:(?P<m>.+))?$"
)
_GPU_NAME_RE = re.compile(r"^(?P<name>.*) (?P<n>\d+) device\(s\)(?: method:(?P<m>.+))?$")

Row = dict[str, str]


def _fail(
    path: str, line: int, what: str, hint: str = "fix or remove that line"
) -> RecordImportError:
    return RecordImportError(f"{path}:{line}: {what}; {hint}")


def _missing(cell: str | None) -> bool:
    return cell is None or cell.strip().lower() in _MISSING


def _rows(path: str, kind: str, required: Sequence[str]) -> Iterator[tuple[int, Row]]:
    """The data records of a CSV with a header, as (first line number, {column: cell})."""
    try:
        f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as e:
        raise RecordImportError(f"{path}: cannot open: {e.strerror}; check the path") from None
    with f:
        reader = csv.reader(f)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                return
            absent = [c for c in required if c not in header]
            if absent:
                raise _fail(
                    path,
                    1,
                    f"not a {kind} CSV: no column {', '.join(map(repr, absent))}",
                    f"pass a {kind} file",
                )
            line = reader.line_num + 1
            for rec in reader:
                first, line = line, reader.line_num + 1
                if not rec:
                    continue  # blank line
                if len(rec) != len(header):
                    raise _fail(
                        path, first, f"{len(rec)} fields where the header has {len(header)}"
                    )
                cells = (unsafe_cell(c) for c in rec)  # a formula-looking cell was prefixed
                yield first, dict(zip(header, cells, strict=True))
        except csv.Error as e:
            raise _fail(path, line, f"unreadable CSV ({e})") from None
        except UnicodeDecodeError:
            raise _fail(path, line, "not UTF-8 text", "save the file as UTF-8") from None


def _float(
    path: str, line: int, row: Row, col: str, *, required: bool = False, own: bool = False
) -> float | None:
    """A number cell; ``own``: our CSV, where only "" is missing and nan/inf read back."""
    cell = row.get(col)
    if cell is None or (cell == "" if own else _missing(cell)):
        if required:
            raise _fail(path, line, f"{col} is empty")
        return None
    try:
        value = float(cell.strip())
    except ValueError:
        raise _fail(path, line, f"{col} is {cell!r}, not a number") from None
    if not own and not math.isfinite(value):
        raise _fail(path, line, f"{col} is {cell!r}, not a finite number")
    return value


def _req(path: str, line: int, row: Row, col: str, *, own: bool = False) -> float:
    value = _float(path, line, row, col, required=True, own=own)
    assert value is not None
    return value


def _text(row: Row, col: str) -> str | None:
    cell = row.get(col)
    return None if cell is None or _missing(cell) else cell.strip()


NO_ZONE_NOTE = "{tool} has no zone: read as UTC (import --tz ZONE names the zone it was in)"


def _local_time(path: str, line: int, cell: str, col: str, tz: tzinfo | None) -> datetime:
    """A tool's timestamp as an aware datetime: its own offset when it has one, else ``tz``,
    else UTC (the record says so; ``import --tz`` names the zone it was written in)."""
    try:
        dt = datetime.fromisoformat(cell.strip())
    except ValueError:
        raise _fail(path, line, f"{col} is {cell!r}, not a date and time") from None
    if dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=tz if tz is not None else timezone.utc)


def _checked(path: str, line: int, build: Callable[[], Run]) -> Run:
    """The run ``build()`` makes of a record, if every field is possible
    (records/validate.py); else a RecordImportError naming the file and line. Dates and
    durations past what datetime holds are such errors too, never a traceback."""
    try:
        run = build()
        check_run(run)
    except RecordImportError:
        raise
    except InvalidRecordError as exc:
        raise _fail(path, line, str(exc)) from None
    except (TypeError, AttributeError) as exc:
        raise _fail(path, line, f"not a run record ({exc})") from None
    except (OverflowError, ValueError) as exc:
        raise _fail(path, line, f"a value out of range ({exc})") from None
    return run


def _row_id(kind: str, row: Row) -> str:
    return str(uuid.uuid5(IMPORT_NAMESPACE, kind + "\x1f" + json.dumps(sorted(row.items()))))


def _comp(name: str, device: str, energy_kwh: float, tool: str, **details: Any) -> ComponentEnergy:
    extra = {k: v for k, v in details.items() if v is not None}
    return ComponentEnergy(
        name,
        device,
        energy_kwh,
        f"{tool}-import",
        "estimated",
        IMPORTED_UNCERTAINTY_PCT,
        details=extra,
    )


def _merge(comps: Sequence[ComponentEnergy]) -> tuple[ComponentEnergy, ...]:
    """Sum components of the same name and device (epochs into a run)."""
    out: dict[tuple[str, str], ComponentEnergy] = {}
    for c in comps:
        prev = out.get((c.name, c.device))
        out[c.name, c.device] = (
            c if prev is None else replace(prev, energy_kwh=prev.energy_kwh + c.energy_kwh)
        )
    return tuple(out.values())


def _band(comps: Sequence[ComponentEnergy]) -> float:
    return combined_uncertainty_pct(tuple(comps)) if comps else IMPORTED_UNCERTAINTY_PCT


def _intensity(co2_kg: float | None, energy_with_pue_kwh: float) -> float | None:
    if co2_kg is None or energy_with_pue_kwh <= 0:
        return None
    return co2_kg * 1000 / energy_with_pue_kwh


# -- Eco2AI ------------------------------------------------------------------------------------
def _eco2ai_devices(row: Row, col: str, pattern: re.Pattern[str]) -> tuple[str, dict[str, Any]]:
    raw = (row.get(col) or "").strip()
    m = pattern.match(raw)
    if m is None:
        return raw or "unknown", {}
    details: dict[str, Any] = {"devices": int(m["n"]), "eco2ai_method": m["m"]}
    if "tdp" in m.groupdict() and not _missing(m["tdp"]):
        details["tdp"] = m["tdp"]
    return m["name"].strip() or "unknown", details


def _eco2ai_window(path: str, line: int, row: Row, tz: tzinfo | None) -> Window:
    """One Eco2AI row as a window (a plain run is a run with one window and no epoch)."""
    start = _local_time(path, line, row["start_time"], "start_time", tz)
    energy_kwh = _req(path, line, row, "power_consumption(kWh)")
    comps: list[ComponentEnergy] = []
    split = [_float(path, line, row, col) for col in ECO2AI_DEVICE_COLUMNS]
    if all(v is not None for v in split):
        cpu_kwh, gpu_kwh, ram_kwh = (v or 0.0 for v in split)
        cpu, cpu_details = _eco2ai_devices(row, "CPU_name", _CPU_NAME_RE)
        gpu, gpu_details = _eco2ai_devices(row, "GPU_name", _GPU_NAME_RE)
        comps.append(_comp("cpu", cpu, cpu_kwh, "eco2ai", **cpu_details))
        if gpu_kwh > 0 or gpu_details.get("devices", 0) > 0:
            comps.append(_comp("gpu", gpu, gpu_kwh, "eco2ai", **gpu_details))
        comps.append(_comp("ram", "RAM", ram_kwh, "eco2ai"))
    epoch = row.get("epoch", "")
    return Window(
        name="" if _missing(epoch) else epoch,
        started_at=iso_utc(start),
        duration_s=_req(path, line, row, "duration(s)"),
        energy_kwh=energy_kwh,
        co2_kg=_float(path, line, row, "CO2_emissions(kg)"),  # N/A without a zone
        uncertainty_pct=_band(comps),
        components=tuple(comps),
    )


def _eco2ai_zone(row: Row) -> tuple[str | None, str]:
    raw = _text(row, "region/country")
    if raw is None:
        return None, "eco2ai-import (no region/country)"
    country = raw.strip("()").split("/", 1)[0].strip()
    zone = "world" if country.upper() == "WORLD" else country or None
    return zone, f"eco2ai-import (region/country {raw})"


def read_eco2ai_csv(path: str | os.PathLike[str], *, tz: tzinfo | None = None) -> list[Run]:
    """Runs from an Eco2AI ``emission.csv`` (see the module docstring for the mapping)."""
    spath = os.fspath(path)
    groups: dict[str, list[tuple[int, Row]]] = {}
    for line, row in _rows(spath, "Eco2AI", _ECO2AI_REQUIRED):
        rid = _text(row, "id")
        if rid is None:  # no id: each row is its own run; an identical row is the same one
            rid = _row_id("eco2ai", row)
            if rid in groups:
                continue
        groups.setdefault(rid, []).append((line, row))
    return [
        _checked(spath, rows[0][0], partial(_eco2ai_run, spath, rid, rows, tz))
        for rid, rows in groups.items()
    ]


def _eco2ai_run(path: str, rid: str, rows: list[tuple[int, Row]], tz: tzinfo | None) -> Run:
    """The run of one Eco2AI id (its rows are its epochs)."""
    spath = path
    wins = [_eco2ai_window(spath, line, row, tz) for line, row in rows]
    first_row = rows[0][1]
    zone, source = _eco2ai_zone(first_row)
    notes = ["Eco2AI's energy includes its PUE, which its file does not record: pue is 1"]
    if not any(w.components for w in wins):
        notes.append("Eco2AI's file does not split energy by device: no components")
    if tz is None:
        notes.append(NO_ZONE_NOTE.format(tool="Eco2AI's start_time"))
    starts = [parse_iso_utc(w.started_at) for w in wins]
    t0 = min(starts)
    t1 = max(s + timedelta(seconds=w.duration_s) for s, w in zip(starts, wins, strict=True))
    energy_kwh = math.fsum(w.energy_kwh for w in wins)
    # No zone (N/A) in every row: no CO2 at all, not 0 g/kWh.
    co2s = [w.co2_kg for w in wins if w.co2_kg is not None]
    co2_kg = math.fsum(co2s) if co2s else None
    comps = _merge([c for w in wins for c in w.components])
    single = len(wins) == 1 and not wins[0].name
    return Run(
        run_id=rid,
        project=_text(first_row, "project_name") or "",
        started_at=iso_utc(t0),
        duration_s=wins[0].duration_s if single else (t1 - t0).total_seconds(),
        energy_kwh=energy_kwh,
        co2_kg=co2_kg,
        zone=zone,
        intensity_g_per_kwh=_intensity(co2_kg, energy_kwh),
        intensity_source=source,
        pue=1.0,
        components=comps,
        scope="unknown",
        uncertainty_pct=_band(comps),
        windows=() if single else tuple(wins),
        warnings=tuple(notes),
        status="finished",
        ended_at=iso_utc(t1),
        experiment=_text(first_row, "experiment_description"),
    )


# -- CodeCarbon --------------------------------------------------------------------------------
def _codecarbon_run(path: str, line: int, row: Row, rid: str, tz: tzinfo | None) -> Run:
    end = _local_time(path, line, row["timestamp"], "timestamp", tz)
    duration_s = _req(path, line, row, "duration")
    pue = _float(path, line, row, "pue")
    pue = 1.0 if pue is None else pue  # CodeCarbon < 2.2 had no pue column
    if pue <= 0:
        raise _fail(path, line, f"pue is {pue!r}, not positive")
    comps = []
    for name, model, count in (
        ("cpu", "cpu_model", "cpu_count"),
        ("gpu", "gpu_model", "gpu_count"),
        ("ram", None, None),
    ):
        energy = _float(path, line, row, f"{name}_energy")
        n = _float(path, line, row, count) if count else None
        if energy is None or (name == "gpu" and energy == 0 and not n):
            continue
        device = (_text(row, model) if model else None) or ("RAM" if name == "ram" else "unknown")
        comps.append(
            _comp(
                name,
                device,
                energy / pue,
                "codecarbon",
                power_w=_float(path, line, row, f"{name}_power"),
                count=n,
                ram_total_size_gb=_float(path, line, row, "ram_total_size")
                if name == "ram"
                else None,
            )
        )
    energy_with_pue = _req(path, line, row, "energy_consumed")
    co2_kg = _req(path, line, row, "emissions")
    where = [
        _text(row, "country_name"),
        _text(row, "region"),
        f"cloud {_text(row, 'cloud_provider')}:{_text(row, 'cloud_region')}"
        if (_text(row, "on_cloud") or "").upper() == "Y"
        else None,
    ]
    version = _text(row, "codecarbon_version")
    source = f"codecarbon{' ' + version if version else ''}-import"
    notes = [] if tz is not None else [NO_ZONE_NOTE.format(tool="CodeCarbon's timestamp")]
    return Run(
        run_id=rid,
        project=_text(row, "project_name") or "",
        started_at=iso_utc(end - timedelta(seconds=duration_s)),
        duration_s=duration_s,
        energy_kwh=energy_with_pue / pue,
        co2_kg=co2_kg,
        zone=_text(row, "country_iso_code"),
        intensity_g_per_kwh=_intensity(co2_kg, energy_with_pue),
        intensity_source=f"{source} ({', '.join(w for w in where if w)})" if any(where) else source,
        pue=pue,
        components=tuple(comps),
        scope=_text(row, "tracking_mode") or "unknown",
        uncertainty_pct=_band(comps),
        warnings=tuple(notes),
        status="finished",
        ended_at=iso_utc(end),
        experiment=_text(row, "experiment_id"),
        python_version=_text(row, "python_version") or "",
    )


def read_codecarbon_csv(path: str | os.PathLike[str], *, tz: tzinfo | None = None) -> list[Run]:
    """Runs from a CodeCarbon ``emissions.csv`` (see the module docstring for the mapping)."""
    spath = os.fspath(path)
    best: dict[str, tuple[int, Row, float]] = {}
    for line, row in _rows(spath, "CodeCarbon", _CODECARBON_REQUIRED):
        rid = _text(row, "run_id") or _row_id("codecarbon", row)
        duration_s = _req(spath, line, row, "duration")
        if rid not in best or duration_s >= best[rid][2]:  # flush() rows are cumulative
            best[rid] = (line, row, duration_s)
    return [
        _checked(spath, line, partial(_codecarbon_run, spath, line, row, rid, tz))
        for rid, (line, row, _) in best.items()
    ]


# -- wattprint CSV and JSON Lines --------------------------------------------------------------
def _wattprint_run(path: str, line: int, row: Row) -> Run:
    def opt(col: str) -> str | None:
        return row[col] or None

    for col in ("started_at", "ended_at"):
        if row[col]:
            try:
                parse_iso_utc(row[col])
            except ValueError:
                raise _fail(path, line, f"{col} is {row[col]!r}, not ISO 8601") from None
    exit_code = row["exit_code"]
    if exit_code and not re.fullmatch(r"-?\d+", exit_code):
        raise _fail(path, line, f"exit_code is {exit_code!r}, not an integer")
    uncertainty_pct = _req(path, line, row, "uncertainty_pct", own=True)
    comps = []
    for name in COMPONENT_NAMES:
        energy = _float(path, line, row, f"{name}_kwh", own=True)
        if energy is None:
            continue
        devices = split_list(row[f"{name}_devices"])
        comps.append(
            ComponentEnergy(
                name,
                ";".join(devices),
                energy,
                "wattprint-csv",
                row[f"{name}_provenance"],
                uncertainty_pct,
                details={"devices": devices},
            )
        )
    return Run(
        run_id=row["run_id"],
        project=row["project"],
        started_at=row["started_at"],
        duration_s=_req(path, line, row, "duration_s", own=True),
        energy_kwh=_req(path, line, row, "energy_kwh", own=True),
        co2_kg=_float(path, line, row, "co2_kg", own=True),
        zone=opt("zone"),
        intensity_g_per_kwh=_float(path, line, row, "intensity_g_per_kwh", own=True),
        intensity_source=opt("intensity_source"),
        pue=_req(path, line, row, "pue", own=True),
        components=tuple(comps),
        scope=row["scope"],
        uncertainty_pct=uncertainty_pct,
        exit_code=int(exit_code) if exit_code else None,
        host=row["host"],
        status=row["status"],
        ended_at=opt("ended_at"),
        experiment=opt("experiment"),
        tags=tuple(split_list(row["tags"])),
    )


def read_wattprint_csv(path: str | os.PathLike[str]) -> list[Run]:
    """Runs from a CSV written by ``append_csv`` (totals per component name; no windows)."""
    spath = os.fspath(path)
    return [
        _checked(spath, line, partial(_wattprint_run, spath, line, row))
        for line, row in _rows(spath, "wattprint", CSV_COLUMNS)
    ]


def read_jsonl(path: str | os.PathLike[str]) -> list[Run]:
    """Runs from a JSON Lines file written by ``append_jsonl`` (blank lines are skipped)."""
    spath = os.fspath(path)
    runs = []
    try:
        with open(spath, encoding="utf-8-sig") as f:
            for line, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    d = json.loads(text)
                except (ValueError, RecursionError) as e:  # deep nesting: RecursionError
                    raise _fail(spath, line, f"not JSON ({type(e).__name__})") from None
                if not isinstance(d, dict):
                    raise _fail(spath, line, f"a JSON {type(d).__name__}, not a run record")
                runs.append(_checked(spath, line, partial(Run.from_dict, d)))
    except UnicodeDecodeError:
        raise RecordImportError(f"{spath}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as e:
        raise RecordImportError(f"{spath}: cannot open: {e.strerror}; check the path") from None
    return runs
