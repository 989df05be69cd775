"""Exporters: wattprint CSV, Eco2AI CSV, JSON / JSON Lines; atomic concurrent appends."""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import shutil
from datetime import timezone
from pathlib import Path

import pytest

from tests.records.runs_factory import epoch_windows, make_run
from wattprint.errors import ExportError, WattprintError
from wattprint.records.exports import (
    CSV_COLUMNS,
    ECO2AI_COLUMNS,
    ECO2AI_DEVICE_COLUMNS,
    append_csv,
    append_eco2ai_csv,
    append_jsonl,
    csv_row,
    join_list,
    split_list,
    to_json,
)
from wattprint.records.importers import read_eco2ai_csv, read_jsonl, read_wattprint_csv

FIXTURES = Path(__file__).parent / "fixtures"


def _records(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_eco2ai_header_is_exactly_eco2ais(tmp_path: Path) -> None:
    assert ECO2AI_COLUMNS == [
        "id", "project_name", "experiment_description", "epoch", "start_time", "duration(s)",
        "power_consumption(kWh)", "CO2_emissions(kg)", "CPU_name", "GPU_name", "OS",
        "region/country", "cost",
    ]  # fmt: skip
    out = tmp_path / "emission.csv"
    append_eco2ai_csv([make_run()], out, tz=timezone.utc)
    first_line = out.read_text(encoding="utf-8").split("\n")[0]
    assert first_line == ",".join(ECO2AI_COLUMNS)


def test_eco2ai_row_follows_eco2ai_formats(tmp_path: Path) -> None:
    run = make_run(components=make_run().component("cpu"), energy_kwh=0.003)
    out = tmp_path / "emission.csv"
    append_eco2ai_csv([run], out, tz=timezone.utc, epoch="N/A")
    row = dict(zip(ECO2AI_COLUMNS, _records(out)[1], strict=True))
    assert row["id"] == "r1"
    assert row["start_time"] == "2024-03-05 14:00:00"  # Eco2AI's strftime, in the given zone
    assert row["epoch"] == "N/A"
    assert float(row["power_consumption(kWh)"]) == 0.003 * 1.1  # Eco2AI's energy includes PUE
    assert float(row["CO2_emissions(kg)"]) == run.co2_kg
    assert row["CPU_name"] == "package-0/2 device(s), TDP:N/A method:rapl-powercap"
    assert row["GPU_name"] == " 0 device(s)"  # what Eco2AI writes without a GPU
    assert row["region/country"] == "DE"
    assert (row["OS"], row["cost"]) == ("N/A", "N/A")


def test_eco2ai_epoch_windows_become_epoch_rows_with_one_id(tmp_path: Path) -> None:
    run = epoch_windows(make_run(), 2)
    out = tmp_path / "emission.csv"
    append_eco2ai_csv([run], out, tz=timezone.utc)
    rows = [dict(zip(ECO2AI_COLUMNS, r, strict=True)) for r in _records(out)[1:]]
    assert [r["epoch"] for r in rows] == ["epoch: 1", "epoch: 2"]
    assert {r["id"] for r in rows} == {"r1"}
    assert [r["start_time"] for r in rows] == ["2024-03-05 14:00:00", "2024-03-05 14:00:05"]
    back = read_eco2ai_csv(out, tz=timezone.utc)
    assert len(back) == 1 and [w.name for w in back[0].windows] == ["epoch: 1", "epoch: 2"]
    assert back[0].energy_kwh == pytest.approx(run.energy_kwh * run.pue)
    assert back[0].co2_kg == pytest.approx(run.co2_kg)


def test_eco2ai_append_to_an_eco2ai_file_and_its_device_columns(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    shutil.copy(FIXTURES / "eco2ai_emission.csv", plain)
    append_eco2ai_csv([make_run()], plain, tz=timezone.utc)
    assert len(read_eco2ai_csv(plain, tz=timezone.utc)) == 3
    devices = tmp_path / "devices.csv"
    shutil.copy(FIXTURES / "eco2ai_emission_devices.csv", devices)
    append_eco2ai_csv([make_run()], devices, tz=timezone.utc)
    rows = _records(devices)
    assert rows[0] == ECO2AI_COLUMNS + ECO2AI_DEVICE_COLUMNS
    ours = dict(zip(rows[0], rows[-1], strict=True))
    assert float(ours["CPU_consumption(kWh)"]) == pytest.approx(0.003 * 1.1)
    assert float(ours["GPU_consumption(kWh)"]) == pytest.approx(0.01 * 1.1)
    assert float(ours["RAM_consumption(kWh)"]) == pytest.approx(0.0005 * 1.1)
    back = {r.run_id: r for r in read_eco2ai_csv(devices, tz=timezone.utc)}["r1"]
    assert {c.name for c in back.components} == {"cpu", "gpu", "ram"}
    assert not (tmp_path / "devices.csv.lock").exists()  # Eco2AI's lock file is released


def test_csv_columns_and_component_cells() -> None:
    assert CSV_COLUMNS[:3] == ["run_id", "project", "experiment"]
    assert CSV_COLUMNS[-3:] == ["storage_kwh", "storage_provenance", "storage_devices"]
    row = dict(zip(CSV_COLUMNS, csv_row(make_run()), strict=True))
    assert float(row["cpu_kwh"]) == 0.003
    assert row["cpu_provenance"] == "estimated"  # weakest of measured + estimated
    assert row["cpu_devices"] == "package-0;package-1"
    assert row["ram_provenance"] == "integrated"
    assert row["storage_kwh"] == row["storage_provenance"] == row["storage_devices"] == ""
    assert row["tags"] == "baseline;a\\;b"  # ';' inside a tag is escaped
    assert split_list(row["tags"]) == ["baseline", "a;b"]


@pytest.mark.parametrize("items", [[], ["x"], ["a;b", "c\\d", ""], ["\\", ";", "\\;"]])
def test_list_cells_round_trip(items: list[str]) -> None:
    if items == [""]:
        pytest.skip("a single empty item is the empty cell")
    assert split_list(join_list(items)) == items


def test_csv_round_trip_keeps_totals(tmp_path: Path) -> None:
    runs = [make_run("a"), make_run("b", co2_kg=None, zone=None, exit_code=None, ended_at=None)]
    out = tmp_path / "runs.csv"
    append_csv(runs[:1], out)
    append_csv(runs[1:], out)  # the header is written once
    text = out.read_text(encoding="utf-8")
    assert text.count("run_id,project") == 1
    back = read_wattprint_csv(out)
    assert [r.run_id for r in back] == ["a", "b"]
    for run, got in zip(runs, back, strict=True):
        assert got.energy_kwh == run.energy_kwh and got.co2_kg == run.co2_kg
        for name in ("cpu", "gpu", "ram", "storage"):
            want = math.fsum(c.energy_kwh for c in run.component(name))
            assert math.fsum(c.energy_kwh for c in got.component(name)) == want
        assert (got.zone, got.exit_code, got.ended_at) == (run.zone, run.exit_code, run.ended_at)
        assert got.tags == run.tags and got.pue == run.pue


def test_jsonl_round_trip_is_lossless(tmp_path: Path) -> None:
    runs = [epoch_windows(make_run("a")), make_run("b", project="ünïcode project\u2028sep\u2029")]
    out = tmp_path / "runs.jsonl"
    append_jsonl(runs, out)
    lines = out.read_text(encoding="utf-8").splitlines()  # naive readers split on U+2028 too
    assert len(lines) == 2 and all(json.loads(line)["run_id"] for line in lines)
    assert "ünïcode" in lines[1]  # UTF-8 kept readable
    assert read_jsonl(out) == runs
    assert to_json(runs[0]) == runs[0].to_json()
    assert json.loads(to_json(runs[0]))["components"][0]["provenance"] == "measured"


def test_header_mismatch_is_an_export_error(tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    out.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ExportError) as err:
        append_csv([make_run()], out)
    assert isinstance(err.value, WattprintError)
    msg = str(err.value)
    assert "\n" not in msg and str(out) in msg and "new file" in msg
    assert out.read_text(encoding="utf-8") == "a,b,c\n1,2,3\n"  # untouched
    with pytest.raises(ExportError):
        append_eco2ai_csv([make_run()], out)


def test_append_after_a_torn_line_starts_a_new_line(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    out.write_text('{"run_id": "half', encoding="utf-8")
    append_jsonl([make_run()], out)
    assert out.read_text(encoding="utf-8").split("\n")[1].startswith('{"run_id":"r1"')


def _writer(args: tuple[str, str, int, int]) -> None:
    kind, path, worker, n = args
    for i in range(n):
        runs = [make_run(f"w{worker}-{i}-{j}", project="p" * 3000) for j in range(3)]
        (append_csv if kind == "csv" else append_jsonl)(runs, path)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_concurrent_appends_never_interleave(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"runs.{kind}"  # new file: the writers also race on the header
    workers, per_worker = 4, 25
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers) as pool:
        pool.map(_writer, [(kind, str(path), w, per_worker) for w in range(workers)])
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    total = workers * per_worker * 3
    if kind == "csv":
        assert len(lines) - 1 == 1 + total  # one header; each run's row is one line
        runs = read_wattprint_csv(path)
        assert list(csv.reader(io.StringIO(lines[0]))) == [CSV_COLUMNS]
    else:
        assert len(lines) - 1 == total
        runs = read_jsonl(path)
    assert len({r.run_id for r in runs}) == total
    assert all(r.project == "p" * 3000 and r.energy_kwh == make_run().energy_kwh for r in runs)


def test_empty_input_writes_nothing(tmp_path: Path) -> None:
    for fn in (append_csv, append_jsonl, append_eco2ai_csv):
        fn([], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_append_to_a_file_saved_with_a_bom(tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    append_csv([make_run("a")], out)
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())  # as Excel saves UTF-8 CSV
    append_csv([make_run("b")], out)
    assert [r.run_id for r in read_wattprint_csv(out)] == ["a", "b"]
