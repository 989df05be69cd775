"""A mass of CO2e in everyday terms (km by car, by train, by air; tree-years; hours of video),
each with the figure used, its own origin and edition, and the table that carried it
(``wattprint/data/equivalents.csv``, built by ``scripts/build_equivalents.py``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache

EQUIVALENTS_FILE = "equivalents.csv"


@dataclass(frozen=True)
class Equivalent:
    key: str
    label: str  # "driving an average passenger car in Europe"
    unit: str  # km | tree-years | hours
    g_co2_per_unit: float
    origin: str  # the figure's own source and edition
    via: str  # the table it was taken from, with its licence
    amount: float = 0.0  # units for the mass asked about

    @property
    def source(self) -> str:
        per = self.unit.rstrip("s")
        return f"{self.g_co2_per_unit:g} g CO2 per {per}; {self.origin}; via {self.via}"


@lru_cache(maxsize=1)
def _table() -> tuple[Equivalent, ...]:
    from importlib import resources

    text = (resources.files("wattprint.data") / EQUIVALENTS_FILE).read_text(encoding="utf-8")
    return tuple(
        Equivalent(
            r["key"], r["label"], r["unit"], float(r["g_co2_per_unit"]), r["origin"], r["via"]
        )
        for r in csv.DictReader(io.StringIO(text))
    )


def equivalents(co2_kg: float) -> list[Equivalent]:
    """``co2_kg`` as each everyday equivalent (``amount`` in its unit), in the table's order."""
    from dataclasses import replace

    grams = max(0.0, co2_kg) * 1000
    return [replace(e, amount=grams / e.g_co2_per_unit) for e in _table()]
