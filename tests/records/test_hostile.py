"""Hostile records: what an attacker or a broken tool can put in a file to import, and what a
name can carry into a CSV. Imports refuse every impossible value with its file and line and
leave the store as it was; exports never write a cell a spreadsheet would run, and exporting
the same runs again adds nothing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.records.runs_factory import make_run
from wattprint.errors import RecordImportError
from wattprint.records.exports import (
    FORMULA_START,
    append_csv,
    append_eco2ai_csv,
    append_jsonl,
    safe_cell,
    unsafe_cell,
)
from wattprint.records.importers import read_eco2ai_csv, read_jsonl, read_wattprint_csv

SRC = Path(__file__).resolve().parents[2] / "src"
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(1+1)",
    "'quoted",
]


def cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [c for row in csv.reader(f) for c in row]


@pytest.mark.parametrize("name", FORMULAS)
def test_no_exported_cell_is_a_formula_and_the_text_comes_back(tmp_path: Path, name: str) -> None:
    run = make_run("f1", project=name, experiment=name, tags=(name,), host=name)
    out, eco = tmp_path / "runs.csv", tmp_path / "eco.csv"
    append_csv([run], out)
    append_eco2ai_csv([run], eco)
    for path in (out, eco):
        for cell in cells(path):
            if cell.startswith(FORMULA_START):
                assert cell.startswith("'") or float(cell) is not None, (path.name, cell)
    back = read_wattprint_csv(out)[0]
    assert (back.project, back.experiment, back.host) == (name, name, name)
    assert read_eco2ai_csv(eco)[0].project == name


@given(st.text(max_size=30))
def test_safe_cell_round_trips_and_never_starts_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert unsafe_cell(cell) == text
    if cell.startswith(FORMULA_START) and not cell.startswith("'"):
        float(cell)  # only a number may start with + or -


def test_exporting_twice_adds_nothing_and_reimport_does_not_double(tmp_path: Path) -> None:
    runs = [make_run("a"), make_run("b", zone=None, co2_kg=None, intensity_g_per_kwh=None)]
    eco, out, jl = tmp_path / "eco.csv", tmp_path / "runs.csv", tmp_path / "runs.jsonl"
    for _ in range(2):
        append_eco2ai_csv(runs, eco)
        append_csv(runs, out)
        append_jsonl(runs, jl)
    assert len(read_wattprint_csv(out)) == len(read_jsonl(jl)) == 2
    back = {r.run_id: r for r in read_eco2ai_csv(eco)}
    assert back["a"].energy_kwh == pytest.approx(runs[0].energy_kwh * runs[0].pue)
    assert back["b"].co2_kg is None and back["b"].intensity_g_per_kwh is None  # not 0 g/kWh


BAD_FIELDS = {
    "project": [123, None, ["x"], "a\x1b[2Jb", "two\nlines"],
    "energy_kwh": ["abc", -1.0, float("nan"), float("inf"), 1e20, True],
    "co2_kg": [-0.5, float("inf"), "1"],
    "duration_s": [-1.0, 1e20, float("nan")],
    "pue": [0.5, 0.0, float("inf")],
    "exit_code": [10**30, 1.5],
    "started_at": ["yesterday", "2024-01-01T00:00:00", 42],
    "status": ["", "done"],
    "items": [-1, 1.5, "10"],
    "epochs": [-2, "3"],
    "packages": [["torch"], {"torch": 2}, {"a\x1bb": "1.0"}],
}


def _with_window(**fields: object) -> dict[str, object]:
    run = make_run("w").to_dict()
    window = dict(name="epoch 1", started_at=run["started_at"], duration_s=1.0)
    window.update(energy_kwh=0.001, co2_kg=None, uncertainty_pct=5.0, components=[])
    return {**run, "windows": [{**window, **fields}]}


@pytest.mark.parametrize(
    "fields",
    [
        {"metrics": {"loss": "high"}},
        {"metrics": {"loss": float("nan")}},
        {"metrics": {"a\nb": 1.0}},
        {"metrics": [1.0]},
        {"count": 0},
        {"stage": 5},
    ],
)
def test_an_impossible_window_is_refused_with_its_line(
    tmp_path: Path, fields: dict[str, object]
) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(_with_window()) + "\n" + json.dumps(_with_window(**fields)) + "\n")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(_with_window(metrics={"loss": 0.5}, stage="eval")) + "\n")
    (run,) = read_jsonl(good)  # the same window with sound fields imports
    assert run.windows[0].metrics == {"loss": 0.5} and run.windows[0].stage == "eval"
    with pytest.raises(RecordImportError) as info:
        read_jsonl(path)
    assert str(info.value).startswith(f"{path}:2:") and "\n" not in str(info.value)


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, vs in BAD_FIELDS.items() for v in vs])
def test_an_impossible_jsonl_field_is_refused_with_its_line(
    tmp_path: Path, field: str, value: object
) -> None:
    good = make_run("ok").to_dict()
    bad = {**make_run("bad").to_dict(), field: value}
    path = tmp_path / "runs.jsonl"
    text = json.dumps(good) + "\n" + json.dumps(bad) + "\n"  # NaN/inf as Python's json writes
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordImportError) as info:
        read_jsonl(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:2:") and "\n" not in msg


def test_deep_nesting_and_huge_numbers_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(RecordImportError, match=":1: not JSON"):
        read_jsonl(path)


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("duration(s)", "1e20"),
        ("start_time", "9999-12-31 23:59:59"),
        # (year 1 read as UTC is a representable time now; as local time it overflowed)
        ("power_consumption(kWh)", "-3"),
        ("power_consumption(kWh)", "inf"),
    ],
)
def test_eco2ai_rows_out_of_range(tmp_path: Path, column: str, cell: str) -> None:
    eco = tmp_path / "eco.csv"
    append_eco2ai_csv([make_run("a")], eco)
    with eco.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[1][rows[0].index(column)] = cell
    with eco.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(RecordImportError) as info:
        read_eco2ai_csv(eco)
    assert str(info.value).startswith(f"{eco}:2:") and "\n" not in str(info.value)


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from(sorted(BAD_FIELDS)),
    value=st.one_of(
        st.text(max_size=20),
        st.floats(),
        st.integers(),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_any_value_in_a_record_is_a_run_or_a_one_line_error(
    tmp_path_factory: pytest.TempPathFactory, field: str, value: object
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "runs.jsonl"
    path.write_text(json.dumps({**make_run("x").to_dict(), field: value}) + "\n")
    try:
        (run,) = read_jsonl(path)
    except RecordImportError as exc:
        assert "\n" not in str(exc) and ":1:" in str(exc)
    else:
        assert getattr(run, field) == value


def test_a_bad_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(PYTHONPATH=str(SRC), WATTPRINT_DB=str(db))

    def wp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wattprint", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    good = tmp_path / "good.jsonl"
    append_jsonl([make_run("g1")], good)
    assert wp("import", str(good), "--format", "jsonl").returncode == 0
    before = wp("runs", "--json").stdout
    poisoned = tmp_path / "poisoned.jsonl"
    poisoned.write_text(
        json.dumps(make_run("g2").to_dict())
        + "\n"
        + json.dumps({**make_run("p").to_dict(), "project": 123})
        + "\n"
    )
    res = wp("import", str(poisoned), "--format", "jsonl")
    assert res.returncode == 2 and f"{poisoned}:2:" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    after = wp("runs", "--json")
    assert after.returncode == 0 and after.stdout == before  # nothing half-imported
    assert (
        wp("summary").returncode == 0
        and wp("export", "--format", "json", "--out", str(tmp_path / "all.json")).returncode == 0
    )
    assert "Infinity" not in (tmp_path / "all.json").read_text()


def test_names_with_terminal_escapes_are_printed_escaped(tmp_path: Path) -> None:
    from wattprint.cli.format import text

    assert text("a\x1b[2Jb\nc") == "a\\x1b[2Jb\\x0ac"
    run = replace(make_run("z"), project="evil\x1b]0;pwned\x07")
    assert "\x1b" not in text(run.project) and "\x07" not in text(run.project)
