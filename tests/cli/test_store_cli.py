"""`wattprint runs | show | summary | export | import | verify` against a real store."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FIXTURES = Path(__file__).resolve().parents[1] / "records" / "fixtures"
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    e.update(
        PYTHONPATH=str(SRC),
        WATTPRINT_DB=str(tmp_path / "runs.sqlite3"),
        WATTPRINT_CPU_TDP_W="100",
        WATTPRINT_POWERCAP_DIR=str(tmp_path / "none"),
        WATTPRINT_SIGNING_KEY=KEY,
    )
    return e


def wp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wattprint", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def record(env: dict[str, str], project: str, code: str = "pass", *extra: str) -> str:
    res = wp(
        env, "run", "--project", project, "--zone", "FR", *extra, "--", sys.executable, "-c", code
    )
    line = res.stderr.strip().splitlines()[-1]
    return line.split()[1]  # "run <id> (status); ..."


def test_runs_show_summary(env: dict[str, str]) -> None:
    a = record(env, "alpha", "sum(range(10**6))", "--tag", "x")
    b = record(env, "beta", "raise SystemExit(2)")
    res = wp(env, "runs")
    assert res.returncode == 0
    assert a in res.stdout and b in res.stdout and "failed (2)" in res.stdout
    only = wp(env, "runs", "--project", "alpha", "--json")
    assert [json.loads(line)["project"] for line in only.stdout.splitlines()] == ["alpha"]
    tagged = wp(env, "runs", "--tag", "x", "--json").stdout.splitlines()
    assert len(tagged) == 1
    shown = wp(env, "show", a)
    assert shown.returncode == 0 and "provenance" in shown.stdout and "estimated" in shown.stdout
    assert json.loads(wp(env, "show", a, "--json").stdout)["run_id"].startswith(a)
    summary = wp(env, "summary", "--price", "0.25")
    assert summary.returncode == 0
    assert "alpha" in summary.stdout and "beta" in summary.stdout and "cost" in summary.stdout


def test_show_unknown_run_is_a_one_line_error(env: dict[str, str]) -> None:
    record(env, "p")
    res = wp(env, "show", "zzzz")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "zzzz" in res.stderr


def test_no_store_yet_is_a_clear_error(env: dict[str, str]) -> None:
    res = wp(env, "runs")
    assert res.returncode == 2 and "no run store" in res.stderr


def test_export_import_round_trip_keeps_totals(env: dict[str, str], tmp_path: Path) -> None:
    for i in range(3):
        record(env, "p", f"sum(range({i + 1} * 10**5))")
    out = tmp_path / "runs.jsonl"
    assert wp(env, "export", "--format", "jsonl", "--out", str(out)).returncode == 0
    other = dict(env, WATTPRINT_DB=str(tmp_path / "other.sqlite3"))
    res = wp(other, "import", str(out), "--format", "jsonl")
    assert res.returncode == 0 and "imported 3 new run(s)" in res.stderr
    again = wp(other, "import", str(out), "--format", "jsonl")
    assert "imported 0 new run(s) of 3" in again.stderr

    def total(e: dict[str, str]) -> float:
        return sum(
            json.loads(line)["energy_kwh"]
            for line in wp(e, "runs", "--json", "--limit", "0").stdout.splitlines()
        )

    assert total(other) == pytest.approx(total(env))


def test_eco2ai_and_codecarbon_files_import(env: dict[str, str]) -> None:
    for name, fmt in (
        ("eco2ai_emission.csv", "eco2ai"),
        ("codecarbon_emissions.csv", "codecarbon"),
    ):
        res = wp(env, "import", str(FIXTURES / name), "--format", fmt)
        assert res.returncode == 0, res.stderr
    assert len(wp(env, "runs", "--json", "--limit", "0").stdout.splitlines()) >= 2


def test_verify_detects_an_edit_and_a_deletion(env: dict[str, str], tmp_path: Path) -> None:
    ids = [record(env, "p") for _ in range(3)]
    ok = wp(env, "verify")
    assert ok.returncode == 0 and "3 signed runs" in ok.stdout
    db = sqlite3.connect(env["WATTPRINT_DB"])
    db.execute("UPDATE runs SET energy_kwh = energy_kwh * 2 WHERE id LIKE ?", (ids[0] + "%",))
    db.commit()
    edited = wp(env, "verify")
    assert edited.returncode == 1 and ids[0] in edited.stdout
    db.execute("DELETE FROM runs WHERE id LIKE ?", (ids[1] + "%",))
    db.commit()
    db.close()
    deleted = wp(env, "verify")
    assert deleted.returncode == 1 and "delet" in deleted.stdout.lower()
    assert KEY not in deleted.stdout + deleted.stderr


def test_bad_store_paths_fail_before_the_command_runs(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w')"
    for args in (
        ["--db", str(tmp_path / "file" / "x.sqlite3")],
        ["--csv", str(tmp_path / "missing" / "x.csv")],
    ):
        res = wp(env, "run", *args, "--", sys.executable, "-c", code)
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_csv_rows_append(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    record(env, "p", "pass", "--csv", str(out))
    record(env, "p", "pass", "--csv", str(out))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("run_id,project") and len(lines) == 3


def test_intensity_and_zones(env: dict[str, str]) -> None:
    res = wp(env, "intensity", "Germany", "--json")
    assert res.returncode == 0
    d = json.loads(res.stdout)
    assert d["zone"] == "DE" and d["year"] and d["source"] and d["intensity_g_per_kwh"] > 0
    human = wp(env, "intensity", "se-se3")
    assert human.returncode == 0 and human.stdout.startswith("SE-SE3") and "licence" in human.stdout
    bad = wp(env, "intensity", "Atlantis")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    found = wp(env, "zones", "sweden")
    assert "SE-SE3" in found.stdout
    assert len(json.loads(wp(env, "zones", "--json").stdout)) >= 450


def test_compare_zones_for_an_energy_and_a_run(env: dict[str, str]) -> None:
    res = wp(env, "compare", "2", "--zones", "DE,FR", "--json")
    assert res.returncode == 0
    d = json.loads(res.stdout)
    by_zone = {r["zone"]: r for r in d["zones"]}
    for code in ("DE", "FR"):
        r = by_zone[code]
        assert r["co2_kg"] == pytest.approx(2 * r["intensity_g_per_kwh"] / 1000)
    assert [r["zone"] for r in d["zones"]] == ["FR", "DE"]  # cleanest first
    run_id = record(env, "p", "sum(range(10**6))")
    by_run = wp(env, "compare", run_id, "--zones", "PL,FR")
    assert by_run.returncode == 0 and "PL" in by_run.stdout and "x  (" in by_run.stdout
    bad = wp(env, "compare", "2", "--zones", "DE,Narnia")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_intensity_shows_the_live_value_when_a_provider_is_configured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process, with a provider stand-in (no network): the latest bin is shown."""
    from datetime import datetime

    from wattprint.carbon import providers
    from wattprint.carbon.providers import Bin
    from wattprint.cli import main

    class Live:
        name = "test"

        def history(self, zone: str, start: datetime, end: datetime) -> list[Bin]:
            return [Bin(start, end, 123.0, "test-live", "historical")]

    monkeypatch.setenv("WATTPRINT_INTENSITY_PROVIDER", "test")
    monkeypatch.setattr(providers, "get_provider", lambda name, **kw: Live())
    assert main(["intensity", "GB"]) == 0
    assert "live: 123 gCO2e/kWh" in capsys.readouterr().out


def test_epochs_in_show_and_compare_runs(env: dict[str, str], tmp_path: Path) -> None:
    other = record(env, "plain", "sum(range(10**5))")
    code = (
        "import wattprint, time\n"
        "with wattprint.Tracker(project='ml', zone='FR') as t:\n"
        "    t.start_training(epochs=2)\n"
        "    for i in range(2):\n"
        "        sum(range(300000))\n"
        "        t.epoch(loss=1.0 / (i + 1), acc=0.5 + 0.2 * i)\n"
        "    with t.stage('inference'):\n"
        "        t.count(500)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=60, capture_output=True
    )
    shown = wp(env, "show", "latest")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "epoch 1" in out and "acc=0.5" in out and "per epoch (2 epochs)" in out
    assert "per point of acc gained (+20 points)" in out and "per 1,000 items (500 items)" in out
    assert "predicted after 1 of 2 epochs" in out and "after 2 epochs" in out
    latest = json.loads(wp(env, "runs", "--json", "--project", "ml").stdout.splitlines()[0])
    table = wp(env, "compare-runs", latest["run_id"][:12], other)
    assert table.returncode == 0 and "0.7" in table.stdout and other in table.stdout
    doc = json.loads(wp(env, "compare-runs", latest["run_id"], "--json").stdout)
    assert doc[0]["epochs"] == 2 and doc[0]["final_accuracy"] == pytest.approx(0.7)
    assert wp(env, "compare-runs", "nosuchrun").returncode == 2


def test_timeline_as_csv_and_in_show_json(env: dict[str, str]) -> None:
    run_id = record(env, "tl", "import time; time.sleep(1.2)", "--interval", "0.1")
    res = wp(env, "timeline", run_id)
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    header, data = rows[0], rows[1:]
    assert header[0] == "t_s" and any(h.endswith("_j") for h in header)
    assert len(data) >= 5 and float(data[-1][0]) >= 1.0
    times = [float(r[0]) for r in data]
    assert times == sorted(times)
    j_cols = [i for i, h in enumerate(header) if h.endswith("_j")]
    for i in j_cols:  # cumulative joules never go down
        series = [float(r[i]) for r in data]
        assert series == sorted(series)
    doc = json.loads(wp(env, "show", run_id, "--json", "--timeline").stdout)
    assert len(doc["timeline"]["t_s"]) == len(data)
    assert "timeline" not in json.loads(wp(env, "show", run_id, "--json").stdout)
    out = Path(env["WATTPRINT_DB"]).parent / "with-timeline.jsonl"
    assert wp(env, "export", "--format", "jsonl", "--timeline", "--out", str(out)).returncode == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(d["timeline"]["t_s"]) for d in lines if d["run_id"].startswith(run_id)] == [
        len(data)
    ]
