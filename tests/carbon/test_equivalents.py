"""Everyday equivalents: the bundled table is what the build script makes from the raw input,
and amounts are the mass over each figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.carbon.test_tables import SOURCES, needs_sources
from wattprint.carbon.equivalents import equivalents

REPO = Path(__file__).resolve().parents[2]


@needs_sources
def test_the_bundled_table_is_the_build_of_the_raw_input(tmp_path: Path) -> None:
    out = tmp_path / "equivalents.csv"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_equivalents.py"), "--sources",
         str(SOURCES), "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    bundled = REPO / "src" / "wattprint" / "data" / "equivalents.csv"
    assert out.read_bytes() == bundled.read_bytes()
    assert "passengerCar_EU_perkm,driving an average passenger car in Europe,km,175," in (
        bundled.read_text()
    )


def test_amounts_are_the_mass_over_each_figure() -> None:
    by_key = {e.key: e for e in equivalents(1.0)}
    assert by_key["passengerCar_EU_perkm"].amount == pytest.approx(1000 / 175)
    assert by_key["passengerCar_US_perkm"].amount == pytest.approx(1000 / 251)
    assert by_key["treeYear"].amount == pytest.approx(1000 / 11000)
    assert by_key["treeYear"].source.startswith("11000 g CO2 per tree-year; Environmental")
    assert all("CC BY 4.0" in e.source for e in by_key.values())
    assert all(e.amount == 0 for e in equivalents(-1.0))
