"""Run records out to files: wattprint CSV, Eco2AI-compatible CSV, JSON and JSON Lines.

Appends are safe with several writers (ranks of one job, parallel sweeps) on a local file system:
each call renders its whole text first, takes an exclusive ``flock`` on the file (where the
platform has one), checks the header, and hands the text to the kernel in one ``os.write`` on
an ``O_APPEND`` descriptor, so no reader ever sees two writers' lines interleaved. Numbers are
written with ``repr`` (shortest text that reads back as the same float).

wattprint CSV (:data:`CSV_COLUMNS`): one row per run; per component name the energy summed over
its devices, the weakest provenance among them, and the device names. Lists (tags, devices) are
joined with ``;``; a ``;`` or ``\\`` inside an item is escaped with ``\\``. The CSV keeps totals;
JSON Lines (:func:`append_jsonl`) keeps everything (per-device components, windows, notes).
A list holding one empty string is written as the empty cell, i.e. read back as no item.

Eco2AI-compatible CSV (:data:`ECO2AI_COLUMNS`), following Eco2AI's writer,
``eco2ai/emission_track.py`` (``Tracker._construct_attributes_dict`` / ``_write_to_csv``,
sb-ai-lab/Eco2AI, version 0.3.x), and ``eco2ai/tools/tools_gpu.py`` (``GPU.name``):

- ``start_time`` is local wall-clock time, ``%Y-%m-%d %H:%M:%S`` (Eco2AI formats
  ``time.localtime``); ``tz`` picks another zone. Numbers are ``str(float)``, as Eco2AI's
  f-strings write them.
- ``power_consumption(kWh)`` includes PUE (Eco2AI multiplies each sample by its ``pue``), so we
  write ``energy_kwh x pue``; ``CO2_emissions(kg)`` is ``co2_kg``.
- ``CPU_name`` is ``"{name}/{count} device(s), TDP:{tdp} method:{method}"`` and ``GPU_name``
  ``"{name} {count} device(s) method:{method}"``; with no GPU Eco2AI writes an empty name,
  i.e. ``" 0 device(s)"``, and so do we. Unknown values are ``N/A``, Eco2AI's own marker.
- ``OS`` and ``cost`` are not in a run record: ``N/A`` (we do not guess the exporting
  machine's OS for a run made elsewhere, nor write Eco2AI's ``0`` "no pricing" cost).
- ``region/country`` is the run's zone code (Eco2AI writes ``"DE"`` or ``"DE/<region>"``).
- Rows: Eco2AI writes one row per run, or, in training mode (``start_training``/``new_epoch``),
  one row per epoch, all with the run's ``id``, ``epoch`` ``"epoch: N, key: value, "``. We do
  the same: a run with windows named like epochs (:data:`EPOCH_WINDOW_RE`: ``"epoch 3"``,
  ``"epoch_3"``, ``"epoch: 3, loss: 0.2, "``) gives one row per such window (energy outside
  them is not in the file, as in Eco2AI); any other run gives one row, ``epoch`` from the
  argument. Eco2AI's optional ``CPU/GPU/RAM_consumption(kWh)`` columns are filled when the
  existing file has them (or ``device_consumption=True`` for a new file).
- Writers take a ``<file>.lock`` lock file (``O_EXCL``, stale after 15 s) against each other.
  Eco2AI 0.3.12 does not take it (it polls whether the file is open, then rewrites it whole),
  so it and wattprint writing one file at the same moment can lose rows: use two files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import tzinfo

from wattprint.errors import ExportError
from wattprint.records.context import parse_iso_utc
from wattprint.records.run import ComponentEnergy, Run, TimelineData, Window

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends still go out in one write
    fcntl = None  # type: ignore[assignment]

COMPONENT_NAMES = ("cpu", "gpu", "ram", "storage")
PROVENANCE_RANK = {"estimated": 0, "integrated": 1, "measured": 2}  # weakest first

CSV_COLUMNS: list[str] = [
    "run_id",
    "project",
    "experiment",
    "tags",
    "started_at",
    "ended_at",
    "duration_s",
    "energy_kwh",
    "co2_kg",
    "zone",
    "intensity_g_per_kwh",
    "intensity_source",
    "pue",
    "scope",
    "uncertainty_pct",
    "status",
    "exit_code",
    "host",
] + [f"{name}_{what}" for name in COMPONENT_NAMES for what in ("kwh", "provenance", "devices")]

ECO2AI_COLUMNS: list[str] = [
    "id",
    "project_name",
    "experiment_description",
    "epoch",
    "start_time",
    "duration(s)",
    "power_consumption(kWh)",
    "CO2_emissions(kg)",
    "CPU_name",
    "GPU_name",
    "OS",
    "region/country",
    "cost",
]
# Written by Eco2AI >= 0.3.11 with ``device_consumption=True``; each includes PUE.
ECO2AI_DEVICE_COLUMNS: list[str] = [
    "CPU_consumption(kWh)",
    "GPU_consumption(kWh)",
    "RAM_consumption(kWh)",
]
ECO2AI_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ECO2AI_NA = "N/A"
EPOCH_WINDOW_RE = re.compile(r"^epoch[\s:_#-]*(\d+)(.*)$", re.IGNORECASE | re.DOTALL)

_ECO2AI_LOCK_STALE_S = 15.0  # Eco2AI removes a lock file older than this
_ECO2AI_LOCK_TIMEOUT_S = 60.0


# -- small shared helpers (the importers use them too) -----------------------------------------
def num(x: float | int | None) -> str:
    """A number as CSV text that reads back as the same value; None as an empty cell."""
    if x is None:
        return ""
    if isinstance(x, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(x, int):
        return str(x)
    return repr(float(x))


def join_list(items: Iterable[str]) -> str:
    r"""Join with ``;``, escaping ``\`` and ``;`` inside items (inverse: :func:`split_list`)."""
    return ";".join(s.replace("\\", "\\\\").replace(";", "\\;") for s in items)


def split_list(cell: str) -> list[str]:
    """Inverse of :func:`join_list`; an empty cell is an empty list."""
    if cell == "":
        return []
    out: list[str] = []
    cur: list[str] = []
    chars = iter(cell)
    for ch in chars:
        if ch == "\\":
            cur.append(next(chars, "\\"))
        elif ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def weakest_provenance(components: Iterable[ComponentEnergy]) -> str:
    """The least trustworthy provenance among ``components`` (estimated < integrated <
    measured; an unknown label counts as weaker than all); empty string when none."""
    provs = [c.provenance for c in components]
    return min(provs, key=lambda p: PROVENANCE_RANK.get(p, -1)) if provs else ""


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# +cmd|..., -2+3+cmd, @SUM); OWASP's rule: prefix such text cells with "'". A leading "'" is
# itself prefixed, so that readers can drop exactly one and get the text back.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def safe_cell(cell: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs (numbers stay as they are)."""
    return "'" + cell if cell.startswith(FORMULA_START) and not _is_number(cell) else cell


def unsafe_cell(cell: str) -> str:
    """Inverse of :func:`safe_cell`."""
    return cell[1:] if cell.startswith("'") else cell


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    rows = [[safe_cell(cell) for cell in row] for row in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    # With "\n" line ends the csv module does not quote a lone "\r", which readers take for a
    # line end: such rows are written fully quoted.
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        (quoted if any("\r" in cell for cell in row) else writer).writerow(row)
    return buf.getvalue()


# -- atomic append -----------------------------------------------------------------------------
def _read_first_record(fd: int, path: str) -> list[str]:
    """The header of an existing CSV (read with ``pread``, so the append offset is untouched)."""
    raw = os.pread(fd, 1 << 20, 0)
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as e:
        raise ExportError(
            f"{path}: cannot read the existing header ({e}); write to a new file instead"
        ) from None


def _write_all(fd: int, data: bytes) -> None:
    # One write on a regular file is complete unless the disk is full or a signal hit; then we
    # finish the rest while still holding the lock, so no other writer can slip in between.
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _ids_in(fd: int, size: int, header: list[str] | None, id_column: str) -> set[str]:
    """The run ids already in an export file (so that exporting again adds nothing twice)."""
    text = os.pread(fd, size, 0).decode("utf-8-sig", errors="replace")
    if header is None:  # JSON Lines
        ids = set()
        for line in text.splitlines():
            try:
                ids.add(str(json.loads(line)[id_column]))
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
        return ids
    if id_column not in header:
        return set()
    i = header.index(id_column)
    rows = csv.reader(io.StringIO(text))
    next(rows, None)
    return {unsafe_cell(r[i]) for r in rows if len(r) > i}


def _append(
    path: str | os.PathLike[str],
    headers: Sequence[Sequence[str]] | None,
    render: Callable[[list[str] | None, set[str]], str],
    what: str,
    id_column: str,
) -> None:
    """Append ``render(header, ids already in the file)`` under an exclusive lock; a new or
    empty file first gets ``headers[0]``; an existing file's header must be one of
    ``headers``. Idempotent when ``render`` leaves out the runs whose id is in the file."""
    spath = os.fspath(path)
    try:
        fd = os.open(
            spath, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
        )
    except OSError as e:
        raise ExportError(
            f"cannot open {spath} for appending: {e.strerror}; check the path and permissions"
        ) from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        prefix = ""
        header: list[str] | None = None
        if headers is not None:
            if size == 0:
                header = list(headers[0])
                prefix = _csv_text([header])
            else:
                header = _read_first_record(fd, spath)  # a BOM (Excel) is dropped
                if not any(header == list(h) for h in headers):
                    raise ExportError(
                        f"{spath} has another header ({len(header)} columns, starting "
                        f"{','.join(header[:3])!r}), not the {what} one; "
                        "append to a new file or move the old one aside"
                    )
        known = _ids_in(fd, size, header, id_column) if size else set()
        body = render(header, known)
        if not body:
            return  # every run is in the file already
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            prefix = "\n" + prefix  # a previous writer died mid-line: do not glue onto it
        _write_all(fd, (prefix + body).encode("utf-8"))
    except OSError as e:
        raise ExportError(f"cannot append to {spath}: {e.strerror}; check free space") from None
    finally:
        os.close(fd)  # releases the flock


# -- wattprint CSV -----------------------------------------------------------------------------
def csv_row(run: Run) -> list[str]:
    """One run as a row of :data:`CSV_COLUMNS`."""
    row = [
        run.run_id,
        run.project,
        run.experiment or "",
        join_list(run.tags),
        run.started_at,
        run.ended_at or "",
        num(run.duration_s),
        num(run.energy_kwh),
        num(run.co2_kg),
        run.zone or "",
        num(run.intensity_g_per_kwh),
        run.intensity_source or "",
        num(run.pue),
        run.scope,
        num(run.uncertainty_pct),
        run.status,
        num(run.exit_code),
        run.host,
    ]
    for name in COMPONENT_NAMES:
        comps = run.component(name)
        if comps:
            energy_kwh = math.fsum(c.energy_kwh for c in comps)
            row += [num(energy_kwh), weakest_provenance(comps), join_list(c.device for c in comps)]
        else:
            row += ["", "", ""]
    return row


def append_csv(runs: Iterable[Run], path: str | os.PathLike[str]) -> None:
    """Append one row per run to a wattprint CSV (header written if the file is new/empty)."""
    run_list = list(runs)
    if run_list:
        _append(
            path,
            [CSV_COLUMNS],
            lambda _h, known: _csv_text(csv_row(r) for r in run_list if r.run_id not in known),
            "wattprint CSV",
            "run_id",
        )


# -- JSON --------------------------------------------------------------------------------------
def to_json(run: Run) -> str:
    """The DESIGN.md run record, indented."""
    return run.to_json()


# Characters str.splitlines() breaks on that JSON leaves raw outside ASCII mode; escaped, so
# that a reader splitting lines naively still sees one record per line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def jsonl_line(run: Run, timeline: TimelineData | None = None) -> str:
    """One run as a compact JSON line (UTF-8 text kept readable, line breaks escaped), with
    its ``timeline`` (``{"t_s": [...], "energy_j": {key: [...]}}``) when given."""
    doc = run.to_dict()
    if timeline is not None:
        doc["timeline"] = {
            "t_s": list(timeline.t_s),
            "energy_j": {k: list(v) for k, v in timeline.energy_j.items()},
        }
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_LINE_BREAKS) + "\n"


def append_jsonl(
    runs: Iterable[Run],
    path: str | os.PathLike[str],
    timelines: Mapping[str, TimelineData] | None = None,
) -> None:
    """Append one compact JSON record per line (lossless; read back with ``read_jsonl``);
    ``timelines`` by run id adds each run's timeline to its line."""
    run_list = list(runs)
    tls = timelines or {}
    if run_list:
        _append(
            path,
            None,
            lambda _h, known: "".join(
                jsonl_line(r, tls.get(r.run_id)) for r in run_list if r.run_id not in known
            ),
            "JSON Lines",
            "run_id",
        )


# -- Eco2AI CSV --------------------------------------------------------------------------------
def _eco2ai_time(iso: str, tz: tzinfo | None) -> str:
    dt = parse_iso_utc(iso)
    return (dt.astimezone(tz) if tz is not None else dt.astimezone()).strftime(ECO2AI_TIME_FORMAT)


def _methods(comps: Sequence[ComponentEnergy]) -> str:
    return "+".join(dict.fromkeys(c.method for c in comps)) or ECO2AI_NA


def _cpu_name(comps: Sequence[ComponentEnergy]) -> str:
    if not comps:
        return f"{ECO2AI_NA}/0 device(s), TDP:{ECO2AI_NA}"
    first = comps[0]
    name = first.details.get("matched_name") or first.details.get("reported_name") or first.device
    tdp = first.details.get("tdp_w")
    tdp_text = ECO2AI_NA if tdp is None else f"{tdp:g}" if isinstance(tdp, float) else str(tdp)
    return f"{name}/{len(comps)} device(s), TDP:{tdp_text} method:{_methods(comps)}"


def _gpu_name(comps: Sequence[ComponentEnergy]) -> str:
    if not comps:
        return " 0 device(s)"  # Eco2AI: empty name, no method label without a GPU
    return f"{comps[0].device} {len(comps)} device(s) method:{_methods(comps)}"


def _eco2ai_row(
    run: Run, epoch: str, part: Run | Window, header: Sequence[str], tz: tzinfo | None
) -> list[str]:
    """One Eco2AI row for ``part``: the whole run or one of its epoch windows."""
    comps = part.components

    def by(name: str) -> list[ComponentEnergy]:
        return [c for c in comps if c.name == name]

    values = {
        "id": run.run_id,
        "project_name": run.project,
        "experiment_description": run.experiment or ECO2AI_NA,
        "epoch": epoch,
        "start_time": _eco2ai_time(part.started_at, tz),
        "duration(s)": str(float(part.duration_s)),
        "power_consumption(kWh)": str(part.energy_kwh * run.pue),
        "CO2_emissions(kg)": ECO2AI_NA if part.co2_kg is None else str(float(part.co2_kg)),
        "CPU_name": _cpu_name(by("cpu")),
        "GPU_name": _gpu_name(by("gpu")),
        "OS": ECO2AI_NA,
        "region/country": run.zone or ECO2AI_NA,
        "cost": ECO2AI_NA,
    }
    for col, name in zip(ECO2AI_DEVICE_COLUMNS, ("cpu", "gpu", "ram"), strict=True):
        values[col] = str(math.fsum(c.energy_kwh for c in by(name)) * run.pue)
    return [values.get(col, ECO2AI_NA) for col in header]


def epoch_windows(run: Run) -> list[Window]:
    """The run's windows named like epochs (:data:`EPOCH_WINDOW_RE`), in start order."""
    wins = [w for w in run.windows if EPOCH_WINDOW_RE.match(w.name)]
    return sorted(wins, key=lambda w: parse_iso_utc(w.started_at))


def eco2ai_rows(
    run: Run, header: Sequence[str], *, epoch: str = ECO2AI_NA, tz: tzinfo | None = None
) -> list[list[str]]:
    """A run as Eco2AI rows: one per epoch window, else one for the whole run."""
    wins = epoch_windows(run)
    if not wins:
        return [_eco2ai_row(run, epoch, run, header, tz)]
    rows = []
    for w in wins:
        m = EPOCH_WINDOW_RE.match(w.name)
        assert m is not None
        rows.append(_eco2ai_row(run, f"epoch: {int(m.group(1))}{m.group(2)}", w, header, tz))
    return rows


@contextmanager
def _eco2ai_lock_file(path: str) -> Iterator[None]:
    """Eco2AI's own writer lock (``<file>.lock``, created with O_EXCL, stale after 15 s)."""
    lock_path = path + ".lock"
    deadline = time.monotonic() + _ECO2AI_LOCK_TIMEOUT_S
    while True:
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            break
        except FileExistsError:
            try:
                if time.time() - os.path.getmtime(lock_path) > _ECO2AI_LOCK_STALE_S:
                    os.remove(lock_path)
                    continue
            except OSError:
                continue  # removed by its owner meanwhile
            if time.monotonic() > deadline:
                raise ExportError(
                    f"{lock_path} is held by another writer for over "
                    f"{_ECO2AI_LOCK_TIMEOUT_S:g} s; remove it if no Eco2AI tracker is running"
                ) from None
            time.sleep(0.05)
        except OSError as e:
            raise ExportError(
                f"cannot create {lock_path}: {e.strerror}; check the folder's permissions"
            ) from None
    try:
        yield
    finally:
        os.close(fd)
        with suppress(OSError):
            os.remove(lock_path)


def append_eco2ai_csv(
    runs: Iterable[Run],
    path: str | os.PathLike[str],
    *,
    epoch: str = ECO2AI_NA,
    tz: tzinfo | None = None,
    device_consumption: bool = False,
) -> None:
    """Append runs to an Eco2AI-format CSV (see the module docstring for the format).

    ``epoch`` fills the ``epoch`` cell of runs without epoch windows; ``tz`` is the zone of
    ``start_time`` (default: this machine's local time, as Eco2AI writes it);
    ``device_consumption`` adds Eco2AI's per-device columns to a new file.
    """
    run_list = list(runs)
    if not run_list:
        return
    plain, with_devices = ECO2AI_COLUMNS, ECO2AI_COLUMNS + ECO2AI_DEVICE_COLUMNS
    headers = [with_devices, plain] if device_consumption else [plain, with_devices]

    def render(header: list[str] | None, known: set[str]) -> str:
        assert header is not None
        return _csv_text(
            row
            for r in run_list
            if r.run_id not in known
            for row in eco2ai_rows(r, header, epoch=epoch, tz=tz)
        )

    spath = os.fspath(path)
    with _eco2ai_lock_file(spath):
        _append(spath, headers, render, "Eco2AI", "id")
