"""CPU model name -> TDP, from the bundled table ``wattprint/data/cpu_tdp.csv``.

The kernel, ``lscpu`` and cloud VMs report names such as ``"Intel(R) Xeon(R) Gold 6248 CPU @
2.50GHz"`` while the sources list ``"Intel Xeon Gold 6248"``. Both sides go through
:func:`normalise`, which drops the noise (trademarks, "CPU", clock speeds, core counts, "with
Radeon Graphics", ...) and keeps the *model number* with its suffixes, so ``6248R`` never becomes
``6248`` and ``E5-2686 v4`` never becomes ``v3``. A TDP for a CPU we cannot identify would be
made up, so :func:`lookup` answers ``None`` for generic VM names ("Intel Xeon Processor", "QEMU
Virtual CPU"), for models missing from the table and for ambiguous matches; the caller then picks
its documented fallback.

Importing this module does no work: patterns are strings that :mod:`re` compiles and caches on
first use, and the table is read once per path on the first lookup.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["CpuSpec", "is_generic", "lookup", "normalise"]


@dataclass(frozen=True)
class CpuSpec:
    """One row of the CPU table."""

    vendor: str  # "Intel" | "AMD" | other
    name: str  # canonical model name from the table
    tdp_w: float
    cores: int | None
    source: str  # which input file(s) gave this TDP, preferred first, ";"-separated


# Vendor words found anywhere in a name are moved to the front, so "Mobile AMD Athlon 64 3200+"
# and "AMD Mobile Athlon 64 3200+" meet.
VENDORS: Mapping[str, str] = {
    "intel": "Intel",
    "amd": "AMD",
    "apple": "Apple",
    "qualcomm": "Qualcomm",
    "arm": "ARM",
    "via": "VIA",
    "zhaoxin": "Zhaoxin",
    "hygon": "Hygon",
    "ampere": "Ampere",
}
# A name without a vendor word gets one from its brand (sources write "EPYC 7763" and
# "AMD EPYC 7763"; /proc/cpuinfo writes "Pentium(R) Dual-Core CPU E5200").
_BRANDS: Mapping[str, str] = {
    "xeon": "intel",
    "core": "intel",
    "celeron": "intel",
    "pentium": "intel",
    "atom": "intel",
    "itanium": "intel",
    "i3": "intel",
    "i5": "intel",
    "i7": "intel",
    "i9": "intel",
    "m3": "intel",
    "m5": "intel",
    "m7": "intel",
    "e3": "intel",
    "e5": "intel",
    "e7": "intel",
    "ryzen": "amd",
    "epyc": "amd",
    "opteron": "amd",
    "athlon": "amd",
    "phenom": "amd",
    "sempron": "amd",
    "turion": "amd",
    "threadripper": "amd",
    "fx": "amd",
    "a4": "amd",
    "a6": "amd",
    "a8": "amd",
    "a9": "amd",
    "a10": "amd",
    "a12": "amd",
    "e1": "amd",
    "e2": "amd",
    "snapdragon": "qualcomm",
    "cortex": "arm",
}
# Brand/family words a query may carry that a terser table row omits ("AMD Opteron 6274" vs the
# codecarbon row "AMD 6274"): they never tell two models with the same number apart.
_FAMILY_WORDS = frozenset(
    {
        "xeon",
        "core",
        "celeron",
        "pentium",
        "atom",
        "ryzen",
        "epyc",
        "opteron",
        "athlon",
        "phenom",
        "sempron",
        "turion",
        "threadripper",
        "ii",
        "gold",
        "silver",
        "bronze",
        "platinum",
        "3",
        "5",
        "7",
        "9",
        "x2",
        "x3",
        "x4",
        "x6",
        "x8",
    }
)
# Words that mark an emulated CPU whatever else the string says ("QEMU Virtual CPU version 2.5+").
_VIRTUAL_WORDS = frozenset({"qemu", "kvm", "virtual", "bochs", "tcg", "hypervisor"})

# Patterns stay strings: re caches the compiled form on first use, keeping import free.
_NOISE_PHRASES = (
    r"\b\d+(?:st|nd|rd|th) gen(?:eration)?\b",  # "11th Gen Intel(R) Core(TM) ..."
    r"\b(?:dual|triple|quad|six|eight|ten|twelve|sixteen|\d+)[- ]?cores?\b",  # "64-Core"
    r"\b(?:dual|quad)core\b",
    r"\bextreme edition\b|\bx-series\b|\bmicrosoft surface edition\b",
    r"\b(?:processors?|cpu|apu|soc|genuine)\b",
)
_GLUED = ((r"\bcore2\b", "core 2"), (r"\bathlon64\b", "athlon 64"), (r"\bturionx2\b", "turion x2"))
_DIGITS = frozenset("0123456789")
_FREQ = r"\d+(?:\.\d+)?[gm]hz"
_NOT_MODEL = r"v\d|x\d|armv\d\w*|aarch64|x86[-_]?64|amd64|i\d86"


def _pass(s: str) -> str:
    """One round of clean-up; :func:`normalise` repeats it until nothing changes."""
    s = re.sub(r"\((?:r|tm|c)\)|[®™©]", " ", s.lower())
    s = re.sub(r"\[\d*\]", " ", s)  # wiki footnotes: "Atom D2701[3]"
    s = re.sub(r"\((\d+)\s*w\)", r" \1w ", s)  # "(125W)" tells two variants apart: keep it
    s = re.sub(r"\([^()]*\)", " ", s)  # "(Skylake, IBRS)", "(OEM Only)", "(v8l)"
    s = re.sub(r"[^a-z0-9+\-./@ ]", " ", s)
    s = re.sub(r"\bw/.*|\bwith\b.*", " ", s)  # "with Radeon Graphics", "w/ Radeon 780M"
    s = re.sub(r"@\s*\d+(?:\.\d+)?\s*[gm]hz\b", " ", s).replace("@", " ").replace("/", " ")
    for pattern in _NOISE_PHRASES:
        s = re.sub(pattern, " ", s)
    for pattern, repl in _GLUED:
        s = re.sub(pattern, repl, s)
    s = re.sub(r"(\d)\s+([gm]hz)\b", r"\1\2", s)
    s = re.sub(r"\b(i[3579]|fx) (?=\d)", r"\1-", s)  # "Core i7 920" -> "core i7-920"
    words = [w.strip("-./") for w in s.split()]
    # A lone "0" after the number is how Sandy Bridge Xeons spell "v1" ("E5-2670 0 @ 2.60GHz").
    words = [w for w in words if re.search(r"[a-z0-9]", w) and w != "0"]
    # A clock speed is noise next to a model number, but it *is* the model of a Pentium 4 3.60GHz.
    freq = [re.fullmatch(_FREQ, w) is not None for w in words]
    if any(_is_model_word(w) for w, f in zip(words, freq, strict=True) if not f):
        words = [w for w, f in zip(words, freq, strict=True) if not f]
    vendor = next((w for w in words if w in VENDORS), None)
    rest = [w for w in words if w not in VENDORS]
    if vendor is None:
        vendor = next((_BRANDS[b] for b in (w.split("-")[0] for w in rest) if b in _BRANDS), None)
    return " ".join([vendor, *rest] if vendor else rest)


def _is_model_word(word: str) -> bool:
    """True for a word that can name a model: has a digit, and is not a tier ("Ryzen 9"),
    version ("v4"), core-count ("X4"), architecture ("ARMv8") or placeholder ("E56xx")."""
    if word.isdigit():
        return len(word) > 2
    if _DIGITS.isdisjoint(word):
        return False
    if "xx" in word and re.search(r"\dxx", word):
        return False
    return word[0] not in "vxai" or re.fullmatch(_NOT_MODEL, word) is None


def normalise(raw: str) -> str:
    """The match key of a CPU name: lower case, noise removed, vendor first.

    Idempotent (``normalise(normalise(x)) == normalise(x)``), which the table relies on: its
    ``key`` column is ``normalise(name)``.
    """
    s = raw
    for _ in range(8):  # converges in 2 rounds in practice; the bound only guards against loops
        nxt = _pass(s)
        if nxt == s:
            break
        s = nxt
    return s


def _key_is_generic(key: str) -> bool:
    words = key.split()
    return any(w in _VIRTUAL_WORDS for w in words) or not any(_is_model_word(w) for w in words)


def is_generic(raw: str) -> bool:
    """True when the name carries no model number, e.g. ``"Intel(R) Xeon(R) Processor"``,
    ``"AMD EPYC Processor"`` or ``"QEMU Virtual CPU version 2.5+"``: hypervisors report these
    and no TDP can be attached to them honestly."""
    return _key_is_generic(normalise(raw))


def _split_model(key: str) -> tuple[str, frozenset[str], str] | None:
    """``key`` -> (vendor word or "", family words, model number with its trailing suffixes).

    Everything from the first model word on is the model, so suffix words ("v4", "HE", "125w")
    stay part of it and must match exactly.
    """
    words = key.split()
    vendor = words[0] if words and words[0] in VENDORS else ""
    body = words[1:] if vendor else words
    for i, w in enumerate(body):
        if _is_model_word(w):
            return vendor, frozenset(body[:i]), " ".join(body[i:])
    return None


_HEADER = "vendor,name,key,tdp_w,cores,source"


def _open(db_path: Path | None) -> IO[str]:
    if db_path is None:
        from importlib.resources import files  # deferred: keeps importing this module cheap

        return (files("wattprint.data") / "cpu_tdp.csv").open("r", encoding="utf-8")
    return db_path.open("r", encoding="utf-8", newline="")


@functools.lru_cache(maxsize=8)
def _text(db_path: Path | None) -> str:
    """The table as text; immutable, so cached per path. Lookups scan it with ``str.find``
    (C speed, ~0.1 ms) instead of building a 5,000-entry index (~12 ms), because a tracker
    needs one lookup per process and that lookup runs on the sampler thread."""
    with _open(db_path) as f:
        text = f.read()
    header = text.split("\n", 1)[0].strip()
    if header != _HEADER:
        raise ValueError(f"unexpected CPU table header {header!r} in {db_path or 'cpu_tdp.csv'}")
    return text


def _rows_with(text: str, needle: str) -> list[tuple[str, CpuSpec]]:
    """(key, spec) of every row whose line contains ``needle``."""
    out = []
    start = 0
    while (hit := text.find(needle, start)) != -1:
        line_start = text.rfind("\n", 0, hit) + 1
        line_end = text.find("\n", hit)
        line_end = len(text) if line_end == -1 else line_end
        start = line_end + 1
        for vendor, name, key, tdp, cores, source in csv.reader([text[line_start:line_end]]):
            out.append(
                (key, CpuSpec(vendor, name, float(tdp), int(cores) if cores else None, source))
            )
    return out


def rows(db_path: Path | None = None) -> list[CpuSpec]:
    """Every row of the table (for tests and tools; lookups do not need this)."""
    lines = _text(None if db_path is None else Path(db_path)).splitlines()[1:]
    return [
        CpuSpec(vendor, name, float(tdp), int(cores) if cores else None, source)
        for vendor, name, _key, tdp, cores, source in csv.reader(lines)
    ]


def lookup(raw: str, db_path: Path | None = None) -> CpuSpec | None:
    """The table row for a reported CPU name, or ``None`` when generic, absent or ambiguous.

    An exact key match wins. Failing that, rows with the same vendor and the same model number
    (suffixes included) match if they differ from the query only by brand words the query adds
    ("AMD Opteron 6274" finds the row "AMD 6274"); when those rows disagree on TDP the answer is
    ``None`` rather than a guess. Never falls back to a family-wide or suffix-less value.
    """
    key = normalise(raw)
    if _key_is_generic(key):
        return None
    text = _text(None if db_path is None else Path(db_path))
    for row_key, spec in _rows_with(text, f",{key},"):
        if row_key == key:
            return spec
    parts = _split_model(key)
    if parts is None:
        return None
    vendor, family, model = parts
    found = []
    for row_key, spec in _rows_with(text, f" {model},"):
        row_parts = _split_model(row_key)
        if row_parts is None or row_parts[0] != vendor or row_parts[2] != model:
            continue
        fam = row_parts[1]
        if fam <= family and family - fam <= _FAMILY_WORDS:
            found.append((len(family - fam), spec))
    if not found or len({spec.tdp_w for _, spec in found}) != 1:
        return None
    return min(found, key=lambda item: (item[0], item[1].name))[1]
