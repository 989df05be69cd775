"""Importers: Eco2AI and CodeCarbon CSVs (fixtures in their formats), our CSV and JSON Lines."""

from __future__ import annotations

import math
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.records.runs_factory import make_run
from wattprint.errors import RecordImportError, WattprintError
from wattprint.records.exports import CSV_COLUMNS, append_csv, append_jsonl, weakest_provenance
from wattprint.records.importers import (
    IMPORTED_UNCERTAINTY_PCT,
    read_codecarbon_csv,
    read_eco2ai_csv,
    read_jsonl,
    read_wattprint_csv,
)
from wattprint.records.run import ComponentEnergy, Run

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc


# -- Eco2AI ------------------------------------------------------------------------------------
def test_eco2ai_fixture_imports_with_its_totals() -> None:
    runs = read_eco2ai_csv(FIXTURES / "eco2ai_emission.csv", tz=UTC)
    assert [r.run_id for r in runs] == [
        "0c7a9b1e-8a57-4c61-9f0e-2f1f3c4d5e6a",
        "5f0e2d4c-1b3a-4e8f-a9c7-6d5e4f3a2b1c",
    ]
    plain, training = runs
    assert plain.energy_kwh == 0.0041796 and plain.co2_kg == 0.0015213744
    assert plain.started_at == "2024-03-05T14:02:11.000Z"
    assert plain.duration_s == 125.31234359741211
    assert plain.zone == "DE" and plain.pue == 1.0 and plain.status == "finished"
    assert plain.intensity_g_per_kwh == pytest.approx(364.0)
    assert plain.project == "Default project name" and plain.windows == ()
    assert plain.components == ()  # Eco2AI's plain file has no per-device split
    assert any("does not split" in w for w in plain.warnings)
    # two epoch rows with one id: one run, one window per epoch
    assert [w.name for w in training.windows] == [
        "epoch: 1, loss: 0.52, accuracy: 0.81, ",
        "epoch: 2, loss: 0.31, accuracy: 0.9, ",
    ]
    assert training.energy_kwh == pytest.approx(0.0123 + 0.0119)
    assert training.co2_kg == pytest.approx(0.003961830000000001 + 0.00383299)
    assert training.started_at == "2024-03-05T15:00:00.000Z"
    assert training.duration_s == pytest.approx(62 + 60.50112390518188)
    assert training.zone == "RU" and "RU/Moscow" in (training.intensity_source or "")
    assert training.experiment == "cnn, adam, lr=1e-3"


def test_eco2ai_device_columns_become_components() -> None:
    (run,) = read_eco2ai_csv(FIXTURES / "eco2ai_emission_devices.csv", tz=UTC)
    by = {c.name: c for c in run.components}
    assert {n: c.energy_kwh for n, c in by.items()} == {"cpu": 0.15, "gpu": 0.75, "ram": 0.05}
    assert math.fsum(c.energy_kwh for c in run.components) == pytest.approx(run.energy_kwh)
    assert by["gpu"].device == "NVIDIA A100-SXM4-40GB" and by["gpu"].details["devices"] == 2
    assert by["cpu"].details["eco2ai_method"] == "rapl" and by["cpu"].details["tdp"] == "150"
    assert {c.provenance for c in run.components} == {"estimated"}
    assert {c.method for c in run.components} == {"eco2ai-import"}
    assert by["cpu"].uncertainty_pct == IMPORTED_UNCERTAINTY_PCT
    assert run.zone == "FR"  # "(FR)": Eco2AI's form when the user gave the emission level


def test_eco2ai_local_time_uses_the_given_zone() -> None:
    plus3 = timezone(timedelta(hours=3))
    (run, _) = read_eco2ai_csv(FIXTURES / "eco2ai_emission.csv", tz=plus3)
    assert run.started_at == "2024-03-05T11:02:11.000Z"


def test_rows_without_id_get_stable_ids(tmp_path: Path) -> None:
    text = (FIXTURES / "eco2ai_emission.csv").read_text(encoding="utf-8").splitlines()
    no_id = [text[0], "," + text[1].split(",", 1)[1], "," + text[1].split(",", 1)[1]]
    path = tmp_path / "e.csv"
    path.write_text("\n".join(no_id) + "\n", encoding="utf-8")
    first, second = read_eco2ai_csv(path, tz=UTC), read_eco2ai_csv(path, tz=UTC)
    assert len(first) == 1  # an identical row without an id is the same run
    assert [r.run_id for r in first] == [r.run_id for r in second]
    assert len(first[0].run_id) == 36


# -- CodeCarbon --------------------------------------------------------------------------------
def test_codecarbon_fixture_imports_with_its_totals() -> None:
    runs = read_codecarbon_csv(FIXTURES / "codecarbon_emissions.csv", tz=UTC)
    assert len(runs) == 2  # the flush() row and the final row are one run
    local, cloud = runs
    assert local.run_id == "3f1c2b4a-9e8d-4c7b-a6f5-0e1d2c3b4a59"
    assert local.duration_s == 60.02417802810669  # the final, cumulative row
    assert local.energy_kwh == 0.000906 and local.co2_kg == 2.9e-05
    assert local.ended_at == "2024-03-05T10:16:00.000Z"
    assert local.started_at == "2024-03-05T10:14:59.975Z"  # timestamp is the end (ms, cut)
    assert local.zone == "FRA" and local.scope == "machine"
    assert {c.name for c in local.components} == {"cpu", "ram"}  # no GPU
    # PUE 1.2: CodeCarbon's energies include it, ours are before it
    assert cloud.pue == 1.2 and cloud.zone == "NLD" and cloud.scope == "process"
    assert cloud.energy_kwh * cloud.pue == pytest.approx(1.8)
    assert cloud.co2_kg == 0.2304
    assert cloud.intensity_g_per_kwh == pytest.approx(128.0)
    by = {c.name: c for c in cloud.components}
    assert by["cpu"].energy_kwh == pytest.approx(0.288 / 1.2)
    assert by["gpu"].energy_kwh == pytest.approx(1.44 / 1.2)
    assert by["ram"].energy_kwh == pytest.approx(0.072 / 1.2)
    assert math.fsum(c.energy_kwh for c in cloud.components) == pytest.approx(cloud.energy_kwh)
    assert by["gpu"].device == "1 x NVIDIA A100-SXM4-40GB" and by["cpu"].device == "AMD EPYC 7B12"
    assert {(c.provenance, c.method) for c in cloud.components} == {
        ("estimated", "codecarbon-import")
    }
    assert "gcp:europe-west4" in (cloud.intensity_source or "")
    assert cloud.experiment == "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"


def test_importing_twice_gives_the_same_ids() -> None:
    for reader in (read_codecarbon_csv, read_eco2ai_csv):
        path = FIXTURES / (
            "codecarbon_emissions.csv" if reader is read_codecarbon_csv else "eco2ai_emission.csv"
        )
        assert [r.run_id for r in reader(path, tz=UTC)] == [r.run_id for r in reader(path)]


# -- bad files ---------------------------------------------------------------------------------
def _wattprint_csv(tmp_path: Path, runs: list[Run]) -> Path:
    path = tmp_path / "runs.csv"
    append_csv(runs, path)
    return path


def test_bad_number_names_file_and_line(tmp_path: Path) -> None:
    path = _wattprint_csv(tmp_path, [make_run("a"), make_run("b", experiment="x")])
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    # A quoted cell over two lines (a newline in a name: refused), then a bad number.
    forged = lines[2].replace(",x,", ',"two\nlines",')
    bad = lines[1].replace(",12.5,", ",twelve,")
    path.write_text("\n".join([lines[0], lines[1], forged, bad]) + "\n", encoding="utf-8")
    with pytest.raises(RecordImportError) as err:
        read_wattprint_csv(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:3: experiment contains control characters"), msg
    assert "\n" not in msg and isinstance(err.value, WattprintError)
    path.write_text("\n".join([lines[0], lines[1], lines[2], bad]) + "\n", encoding="utf-8")
    with pytest.raises(RecordImportError) as err:
        read_wattprint_csv(path)
    assert str(err.value).startswith(f"{path}:4: duration_s is 'twelve'")


@pytest.mark.parametrize(
    ("content", "line", "what"),
    [
        ("id,project_name\nx,y\n", 1, "no column"),
        (None, 3, "fields where the header has"),
        (None, 2, "unreadable CSV"),
    ],
)
def test_malformed_eco2ai_files(tmp_path: Path, content: str | None, line: int, what: str) -> None:
    path = tmp_path / "e.csv"
    good = (FIXTURES / "eco2ai_emission.csv").read_text(encoding="utf-8").splitlines()
    if content is None and line == 3:
        content = "\n".join([*good[:2], "a,b,c", *good[2:]]) + "\n"
    elif content is None:
        content = good[0] + "\n" + "x" * 200_000 + "\n"  # over csv's field size limit
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordImportError, match=f":{line}: .*{what}"):
        read_eco2ai_csv(path, tz=UTC)


def test_malformed_codecarbon_timestamp(tmp_path: Path) -> None:
    lines = (FIXTURES / "codecarbon_emissions.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2024-03-06T22:40:12", "yesterday")
    path = tmp_path / "emissions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RecordImportError, match=r":4: timestamp is 'yesterday'"):
        read_codecarbon_csv(path)


def test_malformed_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    append_jsonl([make_run()], path)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n{not json\n")
    with pytest.raises(RecordImportError, match=r":3: not JSON"):
        read_jsonl(path)
    path.write_text('[1, 2]\n{"run_id": "x"}\n', encoding="utf-8")
    with pytest.raises(RecordImportError, match=r":1: a JSON list"):
        read_jsonl(path)
    path.write_text('{"run_id": "x"}\n', encoding="utf-8")
    with pytest.raises(RecordImportError, match=r":1: not a run record"):
        read_jsonl(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordImportError, match="cannot open"):
        read_wattprint_csv(tmp_path / "nope.csv")
    with pytest.raises(RecordImportError, match="cannot open"):
        read_jsonl(tmp_path / "nope.jsonl")


# -- property: append_csv then read_wattprint_csv keeps every CSV field of any valid run -------
# Valid: text without control characters or lone surrogates (Cc, Cs), finite numbers in range.
_text = st.text(st.characters(exclude_categories=["Cs", "Cc"]))
_name = _text.filter(bool)
_kwh = st.floats(min_value=0, max_value=1e6, allow_nan=False)
_num = st.floats(min_value=0, max_value=1e4, allow_nan=False)
_comp = st.builds(
    ComponentEnergy,
    name=st.sampled_from(["cpu", "gpu", "ram", "storage"]),
    device=_name,  # a lone empty name is the empty cell (documented)
    energy_kwh=_kwh,
    method=st.just("m"),
    provenance=st.sampled_from(["measured", "integrated", "estimated"]),
    uncertainty_pct=st.just(1.0),
)
_runs = st.builds(
    Run,
    run_id=_name.filter(str.strip),
    project=_text,
    started_at=st.just("2024-03-05T14:00:00.123Z"),
    duration_s=_num,
    energy_kwh=_kwh,
    co2_kg=st.none() | _kwh,
    zone=st.none() | _name,
    intensity_g_per_kwh=st.none() | _num,
    intensity_source=st.none() | _name,
    pue=st.floats(min_value=1, max_value=10),
    components=st.lists(_comp, max_size=6).map(tuple),
    scope=_text,
    uncertainty_pct=st.floats(min_value=0, max_value=1000),
    exit_code=st.none() | st.integers(-(2**31) + 1, 2**31 - 1),
    host=_text,
    status=st.sampled_from(["running", "finished", "failed", "interrupted"]),
    ended_at=st.none() | st.just("2024-03-05T15:00:00Z"),
    experiment=st.none() | _name,
    tags=st.lists(_name, max_size=4).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(runs=st.lists(_runs, min_size=1, max_size=3))
def test_csv_round_trips_arbitrary_runs(
    tmp_path_factory: pytest.TempPathFactory, runs: list[Run]
) -> None:
    path = tmp_path_factory.mktemp("prop") / "runs.csv"
    append_csv(runs, path)
    back = read_wattprint_csv(path)
    assert len(back) == len(runs)
    for run, got in zip(runs, back, strict=True):
        for col in CSV_COLUMNS[:18]:
            if col not in ("tags",):
                assert getattr(got, col) == getattr(run, col), col
        assert got.tags == run.tags
        for name in ("cpu", "gpu", "ram", "storage"):
            want = run.component(name)
            have = got.component(name)
            assert bool(have) == bool(want)
            if want:
                (c,) = have
                assert c.energy_kwh == math.fsum(x.energy_kwh for x in want)
                assert c.provenance == weakest_provenance(want)
                assert c.details["devices"] == [x.device for x in want]
