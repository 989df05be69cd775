"""One accounting basis, shown: every bundled value says what it counts, the run record and
`intensity --json` carry it, and a run on another basis than lifecycle is flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wattprint.carbon import zones
from wattprint.cli import main


@pytest.mark.parametrize(
    ("zone", "basis"),
    [
        ("DE", "lifecycle"),  # Ember via OWID
        ("US-MIDA-PJM", "lifecycle"),  # Electricity Maps
        ("aws:us-east-1", "lifecycle"),  # on PJM
        ("US-VA", "direct"),  # eGRID state generation rate
        ("CN-BJ", "direct"),  # China MEE: CO2 of generation
        ("gcp:us-east4", "provider"),  # Google's own figure
        ("RU-MOW", "unknown"),  # eco2ai, undated
    ],
)
def test_each_bundled_value_says_its_basis(
    zone: str, basis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert zones.intensity(zone).basis == basis
    assert main(["intensity", zone, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["basis"] == basis


@pytest.mark.parametrize(("zone", "basis", "flagged"), [("DE", "lifecycle", False),
                                                        ("US-VA", "direct", True)])  # fmt: skip
def test_the_record_carries_the_basis_and_flags_another(
    tmp_path: Path, zone: str, basis: str, flagged: bool, capsys: Any
) -> None:
    out = tmp_path / "r.json"
    rc = main(["run", "--zone", zone, "--db", "off", "--json", str(out), "--", "true"])
    assert rc == 0
    record = json.loads(out.read_text())
    assert record["intensity_basis"] == basis
    assert any("direct basis, not lifecycle" in w for w in record["warnings"]) is flagged
