#!/usr/bin/env python3
"""Rebuild src/wattprint/data/cpu_tdp.csv (+ cpu_tdp.NOTICE.md) from ../shared/data-sources/.

Inputs, in order of preference when they disagree on a TDP (see SOURCES.csv there):
  eco2ai-0.3.12/cpu_names.csv        Apache-2.0   Model,TDP,TDP (Base),...,Cores,...
  codecarbon-3.3.2/cpu_power.csv     MIT          Name,TDP
  green-algorithms-v3.0/TDP_cpu.csv  CC BY 4.0    one extra header line, then model,TDP,n_cores,...

Output: one row per distinct match key (``wattprint.sensors.cpu_db.normalise``), columns
vendor,name,key,tdp_w,cores,source, sorted by key. The key is computed by the package's own
normaliser (loaded from src/ by file path, so no install is needed), which keeps the table and
the runtime matcher in step. Stdlib only.

Choices worth knowing:
* eco2ai's ``TDP`` column holds Intel's *maximum turbo power* when ``TDP (Base)`` is filled
  (Core Ultra 200 rows); the base value is used, as everywhere else in the table.
* codecarbon rows with no vendor or brand word ("6274", "B60", "TL-52") come from its AMD list
  and are prefixed "AMD"; nothing else is inferred.
* Rows with a malformed or implausible TDP, or with no model number ("ARMv8 Processor rev 0",
  "VIA Eden @ 1000MHz") are dropped. A key that one source lists with two different TDPs is
  ambiguous in that source, so that source is ignored for the key.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "src" / "wattprint" / "data"
OUT = DATA / "cpu_tdp.csv"
NOTICE = DATA / "cpu_tdp.NOTICE.md"
FIELDS = ["vendor", "name", "key", "tdp_w", "cores", "source"]


def _load_matcher() -> ModuleType:
    path = REPO / "src" / "wattprint" / "sensors" / "cpu_db.py"
    spec = importlib.util.spec_from_file_location("_wattprint_cpu_db", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses needs the module registered
    spec.loader.exec_module(mod)
    return mod


cpu_db = _load_matcher()


@dataclass(frozen=True)
class Raw:
    name: str
    tdp: str
    cores: str


def _num(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 < value < 1000 else None


def read_eco2ai(path: Path) -> Iterator[Raw]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            yield Raw(r["Model"], r["TDP (Base)"].strip() or r["TDP"], r["Cores"])


def read_codecarbon(path: Path) -> Iterator[Raw]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            yield Raw(r["Name"], r["TDP"], "")


def read_green_algorithms(path: Path) -> Iterator[Raw]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        next(f)  # the first line only labels units ("index,in Watt,...")
        for r in csv.DictReader(f):
            if r["model"].strip() != "Any":  # their default row, not a model
                yield Raw(r["model"], r["TDP"], r["n_cores"])


# (id, file, reader), most trusted first.
INPUTS: list[tuple[str, str, Callable[[Path], Iterator[Raw]]]] = [
    ("eco2ai-0.3.12", "cpu_names.csv", read_eco2ai),
    ("codecarbon-3.3.2", "cpu_power.csv", read_codecarbon),
    ("green-algorithms-v3.0", "TDP_cpu.csv", read_green_algorithms),
]


def _display_name(raw: str) -> str:
    """Tidy the source's spelling for display; the key does the real normalising."""
    text = raw.replace("\u200b", "").replace("\xa0", " ").replace("®", "")
    if text.rstrip().endswith("]") and "[" in text:  # wiki footnote "Atom D2701[3]"
        text = text[: text.rindex("[")]
    return " ".join(text.split())


@dataclass
class Entry:
    name: str
    vendor: str
    tdp: float
    cores: int | None


@dataclass
class Stats:
    read: int = 0
    bad_tdp: int = 0
    generic: int = 0
    keys: int = 0
    ambiguous_keys: int = 0
    chosen: int = 0


def collect(sid: str, rows: Iterator[Raw], stats: Stats) -> dict[str, Entry]:
    """key -> Entry for one source; keys the source lists with two TDPs are dropped."""
    out: dict[str, Entry] = {}
    ambiguous: set[str] = set()
    for r in rows:
        stats.read += 1
        tdp = _num(r.tdp.strip())
        if tdp is None:
            stats.bad_tdp += 1
            continue
        name = _display_name(r.name)
        key = cpu_db.normalise(name)
        if cpu_db._key_is_generic(key):
            stats.generic += 1
            continue
        first = key.split()[0]
        if first not in cpu_db.VENDORS and sid.startswith("codecarbon"):
            first = "amd"  # its vendor-less rows ("6274", "B60") come from its AMD list
        vendor = cpu_db.VENDORS.get(first, "Other")
        if vendor != "Other" and first not in re.split(r"[^a-z]+", name.lower()):
            name = f"{vendor} {name}"  # "EPYC 7763" -> "AMD EPYC 7763"
            key = cpu_db.normalise(name)
        cores_f = _num(r.cores.strip()) if r.cores.strip() else None
        entry = Entry(name, vendor, tdp, int(cores_f) if cores_f else None)
        old = out.get(key)
        if old is None:
            out[key] = entry
        elif old.tdp != tdp:
            ambiguous.add(key)
        elif old.cores is None:
            old.cores = entry.cores
    for key in ambiguous:
        del out[key]
    stats.keys, stats.ambiguous_keys = len(out), len(ambiguous)
    return out


def build(sources: Path) -> tuple[list[dict[str, object]], dict[str, Stats], int]:
    per_source: list[tuple[str, dict[str, Entry]]] = []
    stats: dict[str, Stats] = {}
    for sid, fname, reader in INPUTS:
        stats[sid] = Stats()
        per_source.append((sid, collect(sid, reader(sources / sid / fname), stats[sid])))
    conflicts = 0
    rows: list[dict[str, object]] = []
    for key in sorted({k for _, entries in per_source for k in entries}):
        have = [(sid, entries[key]) for sid, entries in per_source if key in entries]
        best_sid, best = have[0]
        if any(e.tdp != best.tdp for _, e in have):
            conflicts += 1
        agree = [sid for sid, e in have if e.tdp == best.tdp]
        cores = next((e.cores for _, e in have if e.cores is not None), None)
        stats[best_sid].chosen += 1
        assert cpu_db.normalise(best.name) == key, (best.name, key)
        rows.append(
            {
                "vendor": best.vendor,
                "name": best.name,
                "key": key,
                "tdp_w": f"{best.tdp:g}",
                "cores": "" if cores is None else cores,
                "source": ";".join(agree),
            }
        )
    return rows, stats, conflicts


MIT = """MIT License

Copyright (c) 2019 Mila, BCG Gamma, CometML, Haverford College
Copyright (c) 2023 Code Carbon NGO

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _sources_meta(sources: Path) -> dict[str, dict[str, str]]:
    with (sources / "SOURCES.csv").open(encoding="utf-8", newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def notice(sources: Path, n_rows: int) -> str:
    meta = _sources_meta(sources)
    licences = {
        "eco2ai-0.3.12": "Apache-2.0",
        "codecarbon-3.3.2": "MIT",
        "green-algorithms-v3.0": "CC BY 4.0",
    }
    out = io.StringIO()
    out.write(
        "# cpu_tdp.csv: provenance and licences\n\n"
        "Generated by `scripts/build_cpu_db.py`; do not edit by hand. "
        f"{n_rows} CPU models, one row per match key (`wattprint.sensors.cpu_db.normalise`). "
        "Where sources disagree on a TDP, eco2ai wins, then codecarbon, then Green Algorithms; "
        "`source` lists the inputs that agree with the value kept.\n\n"
        "Changes from the inputs: names are tidied (footnotes, zero-width spaces removed) and "
        "get a vendor prefix when the source omits it (codecarbon's vendor-less rows come from "
        "its AMD list); eco2ai's base power is used where it also gives a maximum turbo power; "
        "rows with an invalid TDP, no model number, or two TDPs for one key within one source "
        "are left out.\n\n"
        "| input | origin | version / commit | licence | sha256 |\n"
        "|---|---|---|---|---|\n"
    )
    for sid, fname, _ in INPUTS:
        m = meta.get(f"{sid}/{fname}", {})
        out.write(
            f"| `{sid}/{fname}` | {m.get('source', '?')} | "
            f"{m.get('version_or_commit', '?')} | {licences[sid]} | "
            f"`{m.get('sha256', '?')}` |\n"
        )
    out.write(
        "\n## Licences and attribution\n\n"
        "- **eco2ai** (`cpu_names.csv`, github.com/sb-ai-lab/Eco2AI), Apache License 2.0 "
        "(https://www.apache.org/licenses/LICENSE-2.0). Modified: rows re-keyed, merged with "
        "the other inputs and filtered as described above.\n"
        "- **Green Algorithms** (`TDP_cpu.csv`, github.com/GreenAlgorithms/green-algorithms-tool"
        "), CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Attribution: Lannelongue, "
        "Grealey, Inouye, Green Algorithms: Quantifying the Carbon Footprint of Computation, "
        "Advanced Science 2021 (doi:10.1002/advs.202100707). Changes: merged with the other "
        "inputs as described above.\n"
        "- **codecarbon** (`cpu_power.csv`, github.com/mlco2/codecarbon), MIT licence; its "
        "notice, as in the project's LICENSE file:\n\n"
    )
    out.write("".join(f"    {line}\n" if line else "\n" for line in MIT.splitlines()))
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data-sources")
    args = ap.parse_args()
    rows, stats, conflicts = build(args.sources)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    NOTICE.write_text(notice(args.sources, len(rows)), encoding="utf-8")
    for sid, s in stats.items():
        print(
            f"{sid:22} read {s.read:5}  bad TDP {s.bad_tdp:3}  no model {s.generic:2}  "
            f"ambiguous keys {s.ambiguous_keys:2}  keys {s.keys:5}  rows taken {s.chosen:5}"
        )
    print(f"TDP conflicts between sources: {conflicts}")
    print(f"wrote {len(rows)} CPU models to {OUT.relative_to(REPO)} (+ {NOTICE.relative_to(REPO)})")


if __name__ == "__main__":
    main()
