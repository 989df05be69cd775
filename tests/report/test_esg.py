"""Scope 2 period figures on a fixture store equal hand-computed totals; market-based differs
from location-based only where contractual factors were supplied."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.records.store_helpers import make_run
from wattprint.carbon.contracts import parse_factors
from wattprint.cli import main
from wattprint.records.reader import RunFilter, StoreReader
from wattprint.records.run import ComponentEnergy
from wattprint.records.store import RunStore
from wattprint.report.esg import esg_report

EVIL = "<script>alert(1)</script>"
FACTORS = (
    "zone,from,to,g_per_kwh,instrument,share_pct,note\n"
    "DE,2026-01-01,2026-01-31,0,ppa,60,wind PPA\n"
    "de,2026-01-01,2026-12-31,250,supplier,40,supplier mix\n"
)


def _c(kwh: float, provenance: str) -> ComponentEnergy:
    return ComponentEnergy("cpu", "cpu", kwh, "m", provenance, 5.0)


def _run(run_id: str, project: str, day: str, kwh: float, pue: float, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "project": project,
        "started_at": f"{day}T10:00:00.000Z",
        "ended_at": f"{day}T11:00:00.000Z",
        "energy_kwh": kwh,
        "pue": pue,
        "windows": (),
    }
    fields.update(kw)
    return make_run(run_id, **fields)


RUNS = [
    _run("r1", "A", "2026-01-10", 1.0, 1.5, zone="DE", co2_kg=0.6, uncertainty_pct=10.0,
         components=(_c(0.6, "measured"), _c(0.4, "estimated"))),
    _run("r2", "A", "2026-01-20", 2.0, 1.0, zone="FR", co2_kg=0.1, uncertainty_pct=20.0,
         components=(_c(2.0, "estimated"),)),
    _run("r3", EVIL, "2026-02-05", 0.5, 1.2, zone="DE", co2_kg=0.18, uncertainty_pct=4.0,
         components=(_c(0.5, "integrated"),)),
    _run("r4", "A", "2026-01-15", 0.3, 1.0, zone="DE", co2_kg=0.1, status="interrupted"),
    _run("r5", EVIL, "2026-02-07", 0.2, 1.0, zone=None, co2_kg=None),
    _run("r6", "A", "2026-03-01", 9.0, 1.0, zone="DE", co2_kg=3.0),  # after the period
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.sqlite3"
    with RunStore(path) as store:
        for run in RUNS:
            store.finish(run)
    return path


def _report(db: Path, factors: str = "") -> Any:
    with StoreReader(db) as reader:
        runs = reader.runs(RunFilter(since="2026-01-01", until="2026-02-28"))
    return esg_report(
        runs, date(2026, 1, 1), date(2026, 2, 28), None, parse_factors(factors) if factors else []
    )


def test_figures_equal_the_hand_computed_totals(db: Path) -> None:
    report = _report(db, FACTORS)
    b, a = report.rows  # by project name: "<" sorts before "A"
    assert (b.project, a.project, a.month, b.month) == (EVIL, "A", "2026-01", "2026-02")
    assert (a.runs, a.it_energy_kwh, a.facility_energy_kwh) == (2, pytest.approx(3.0), 3.5)
    assert a.location_co2_kg == pytest.approx(0.7)
    # r1: 1.5 kWh bought, 60 % PPA at 0 g + 40 % supplier at 250 g; r2 (FR): no factor
    assert a.market_co2_kg == pytest.approx(1.5 * 0.4 * 0.250 + 0.1)
    assert a.measured_pct == pytest.approx(20.0)
    # r3 (February): only the supplier's 40 %; the other 60 % keeps its location intensity
    assert b.market_co2_kg == pytest.approx(0.6 * 0.4 * 0.250 + 0.6 * 0.18)
    assert b.measured_pct == pytest.approx(100.0)  # integrated counts as measured
    t = report.total
    assert (t.runs, t.it_energy_kwh, t.facility_energy_kwh) == (3, 3.5, pytest.approx(4.1))
    assert (t.location_co2_kg, t.market_co2_kg) == (pytest.approx(0.88), pytest.approx(0.418))
    # bands 0.1, 0.4, 0.02 kWh: root sum of squares and plain sum, over 3.5 kWh
    assert t.band_independent_pct == pytest.approx(100 * (0.01 + 0.16 + 0.0004) ** 0.5 / 3.5)
    assert t.band_correlated_pct == pytest.approx(100 * 0.52 / 3.5)
    assert [(x.run_id, x.reason) for x in report.excluded] == [
        ("r4", "interrupted: its energy is partial"),
        ("r5", "no zone, so no CO2"),
    ]
    (ppa, supplier) = report.factors
    assert ppa.facility_energy_kwh == pytest.approx(0.9) and ppa.market_co2_kg == 0
    assert supplier.facility_energy_kwh == pytest.approx(0.6 + 0.24)


def test_market_equals_location_wherever_no_factor_applies(db: Path) -> None:
    plain = _report(db)
    assert all(r.market_co2_kg == r.location_co2_kg for r in (*plain.rows, plain.total))
    unused = _report(db, "zone,from,to,g_per_kwh,instrument\nSE,2026-01-01,2026-12-31,0,rec\n")
    assert [r.market_co2_kg for r in unused.rows] == [r.location_co2_kg for r in plain.rows]
    with_factors = _report(db, FACTORS)
    assert [r.location_co2_kg for r in with_factors.rows] == [r.location_co2_kg for r in plain.rows]


def test_esg_cli_csv_html_and_text(db: Path, tmp_path: Path, capsys: Any) -> None:
    factors = tmp_path / "factors.csv"
    factors.write_text(FACTORS)
    before = db.read_bytes()
    args = ["esg", "--db", str(db), "--from", "2026-01-01", "--to", "2026-02-28"]
    assert main([*args, "--format", "csv", "--factors", str(factors)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["project"] for r in rows] == [EVIL, "A", "all projects"]
    assert rows[2]["market_co2e_kg"] == "0.418000" and rows[2]["location_co2e_kg"] == "0.880000"
    page = tmp_path / "esg.html"
    assert main([*args, "--format", "html", "--out", str(page)]) == 0
    html = page.read_text()
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Residual mix" in html and "GHG Protocol Scope 2 Guidance" in html
    assert "Runs not counted (2)" in html
    assert main([*args, "--project", "A"]) == 0
    out = capsys.readouterr().out
    assert "project A" in out and "interrupted" in out and EVIL not in out
    assert "market-based equals location-based" in out
    assert db.read_bytes() == before  # read-only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-02-01"], "--from '2026-13-01' is not a date"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "is before --from"),
        (["--from", "2026-01-01", "--to", "2026-02-01", "--factors", "/nonexistent"], "--factors"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_read(
    db: Path, args: list[str], message: str, capsys: Any
) -> None:
    assert main(["esg", "--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_stores_fast_rows_equal_the_records(db: Path) -> None:
    """The report reads columns and the components table, not the records: same inputs."""
    from wattprint.records.reader import EsgInput

    with StoreReader(db) as reader:
        f = RunFilter(since="2026-01-01", until="2026-12-31")
        fast = reader.esg_inputs(f)
        slow = [EsgInput.of_run(r) for r in reader.runs(f)]
    assert fast == slow and len(fast) == 6
