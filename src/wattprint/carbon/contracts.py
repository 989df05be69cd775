"""Contractual emission factors for market-based Scope 2: a supplier's factor, a power purchase
agreement (PPA), certificates (RECs, GOs), read from the user's CSV file.

    zone,from,to,g_per_kwh,instrument,share_pct,note
    DE,2026-01-01,2026-12-31,0,ppa,60,wind PPA with ...
    DE,2026-01-01,2026-12-31,380,supplier,40,supplier mix 2026

``from`` and ``to`` are dates, both included; ``share_pct`` (default 100) is the share of the
zone's electricity in that period the instrument covers; ``note`` is free text. Instruments
covering the same zone and days may not add up to more than 100 %. Every error names the file
and line and says what to write instead; nothing is evaluated.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date

from wattprint.errors import ConfigError

INSTRUMENTS = ("supplier", "ppa", "rec", "go", "certificate", "green-tariff")
MAX_BYTES = 1 << 20
MAX_G_PER_KWH = 2000.0
COLUMNS = ("zone", "from", "to", "g_per_kwh", "instrument")
OPTIONAL = ("share_pct", "note")
EXAMPLE = "DE,2026-01-01,2026-12-31,0,ppa,60,wind PPA"


@dataclass(frozen=True)
class ContractFactor:
    zone: str  # canonical zone code
    start: date  # first day covered
    end: date  # last day covered
    g_per_kwh: float
    instrument: str
    share_pct: float = 100.0
    note: str = ""
    line: int = 0  # in the file it came from

    def covers(self, zone: str | None, day: date) -> bool:
        return zone == self.zone and self.start <= day <= self.end


def _date(text: str, where: str, column: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: {column} {text!r} is not a date; write YYYY-MM-DD") from None


def _number(text: str, where: str, column: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{where}: {column} {text!r} is not a number from {low:g} to {high:g}")
    return value


def parse_factors(text: str, name: str = "factors") -> list[ContractFactor]:
    """The factors in ``text`` (the file's content; ``name`` for messages). Raises ConfigError."""
    from wattprint.carbon import zones

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(f"{name}: over 1 MiB; a factors file has one line per zone and period")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ConfigError(f"{name}: empty; the first line names the columns: "
                          f"{','.join(COLUMNS + OPTIONAL)}") from None  # fmt: skip
    except csv.Error as exc:
        raise ConfigError(f"{name}:1: {exc}") from None
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS + OPTIONAL]
    if missing or unknown:
        raise ConfigError(
            f"{name}:1: columns must be {','.join(COLUMNS)}[,share_pct][,note]"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(repr(u) for u in unknown[:3])}" if unknown else "")
        )
    out: list[ContractFactor] = []
    try:
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            where = f"{name}:{number}"
            if len(row) != len(header):
                raise ConfigError(
                    f"{where}: {len(row)} cells for {len(header)} columns; e.g. {EXAMPLE}"
                )
            cell = dict(zip(header, row, strict=True))
            try:
                zone = zones.lookup_zone(cell["zone"]).code
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            start = _date(cell["from"], where, "from")
            end = _date(cell["to"], where, "to")
            if end < start:
                raise ConfigError(f"{where}: 'to' {end} is before 'from' {start}")
            instrument = cell["instrument"].strip().lower()
            if instrument not in INSTRUMENTS:
                raise ConfigError(
                    f"{where}: instrument {cell['instrument']!r} is not one of "
                    f"{', '.join(INSTRUMENTS)}"
                )
            share = cell.get("share_pct", "").strip()
            note = cell.get("note", "")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in note):
                raise ConfigError(f"{where}: the note holds control characters; write plain text")
            out.append(
                ContractFactor(
                    zone,
                    start,
                    end,
                    _number(cell["g_per_kwh"], where, "g_per_kwh", 0.0, MAX_G_PER_KWH),
                    instrument,
                    _number(share, where, "share_pct", 0.0, 100.0) if share else 100.0,
                    note.strip()[:200],
                    number,
                )
            )
    except csv.Error as exc:
        raise ConfigError(f"{name}:{reader.line_num}: {exc}") from None
    _check_shares(out, name)
    return out


def _check_shares(factors: list[ContractFactor], name: str) -> None:
    """No zone has instruments covering more than 100 % of any day: a sweep over each zone's
    start and end days (n log n, so a 1 MiB file is checked at once)."""
    from datetime import timedelta

    by_zone: dict[str, list[ContractFactor]] = {}
    for f in factors:
        by_zone.setdefault(f.zone, []).append(f)
    for zone, group in by_zone.items():
        # +share on its first day, -share the day after its last; ends sort before starts
        events = sorted(
            [(f.start, 1, f) for f in group] + [(f.end + timedelta(days=1), 0, f) for f in group],
            key=lambda e: (e[0], e[1]),
        )
        total, active = 0.0, set[int]()
        for day, kind, f in events:
            if kind == 0:
                total -= f.share_pct
                active.discard(f.line)
                continue
            total += f.share_pct
            active.add(f.line)
            if total > 100.0 + 1e-9:
                lines = ", ".join(str(n) for n in sorted(active))
                raise ConfigError(
                    f"{name}: lines {lines} cover {zone} on {day} with {total:g} % in all; "
                    "shares of one zone and day may add up to 100 % at most"
                )


def read_factors(path: str) -> list[ContractFactor]:
    """The factors in the file at ``path`` (a regular file of at most 1 MiB, UTF-8)."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"--factors {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"--factors {path}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"--factors {path}: not UTF-8 text; save it as UTF-8 CSV") from None
    return parse_factors(text, path)
