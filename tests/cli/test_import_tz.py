"""`wattprint import --tz`: zone-less timestamps read in the zone named, else UTC and said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wattprint.cli import main
from wattprint.records.store import RunStore

HEADER = (
    "id,project_name,experiment_description(model type),epoch,start_time,duration(s),"
    "power_consumption(kWh),CO2_emissions(kg),CPU_name,GPU_name,OS,region/country,cost\n"
)
ROW = "abc,proj,desc,N/A,2026-07-01 12:00:00,60,0.001,0.0004,cpu,gpu,Linux,DE,N/A\n"


def _import(tmp_path: Path, *extra: str) -> Any:
    csv = tmp_path / "emission.csv"
    csv.write_text(HEADER + ROW)
    db = tmp_path / f"runs{len(extra)}.sqlite3"
    rc = main(["import", str(csv), "--format", "eco2ai", "--db", str(db), *extra])
    with RunStore(db) as store:
        return rc, store.list()


def test_tz_names_the_zone_the_file_was_written_in(tmp_path: Path, capsys: Any) -> None:
    rc, (run,) = _import(tmp_path, "--tz", "Europe/Berlin")
    assert rc == 0 and run.started_at == "2026-07-01T10:00:00.000Z"  # CEST, UTC+2
    assert "no zone" not in capsys.readouterr().err


def test_without_tz_utc_and_a_warning(tmp_path: Path, capsys: Any) -> None:
    rc, (run,) = _import(tmp_path)
    assert rc == 0 and run.started_at == "2026-07-01T12:00:00.000Z"
    assert "read as UTC" in capsys.readouterr().err
    assert any("read as UTC" in w for w in run.warnings)


def test_a_bad_zone_is_one_line(tmp_path: Path, capsys: Any) -> None:
    csv = tmp_path / "e.csv"
    csv.write_text(HEADER + ROW)
    assert main(["import", str(csv), "--format", "eco2ai", "--tz", "Mars/Olympus"]) == 2
    assert "--tz 'Mars/Olympus' is not a time zone" in capsys.readouterr().err
