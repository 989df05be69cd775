"""`wattprint report RUN`: the page and the figure from a real store; bad paths refused first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.records.store_helpers import make_run, make_timeline
from wattprint.cli import main
from wattprint.records.store import RunStore


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.sqlite3"
    with RunStore(path) as store:
        store.finish(make_run("withtimeline01"), make_timeline(50))
        store.finish(make_run("notimeline0001", started_at="2024-05-02T12:00:00.000Z"))
    return path


def test_report_writes_the_page_and_the_svg(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, svg = tmp_path / "r.html", tmp_path / "fig.svg"
    rc = main(["report", "withtime", "--db", str(db), "--html", str(page), "--svg", str(svg)])
    assert rc == 0
    assert page.read_text().startswith("<!DOCTYPE html>") and "<svg" in page.read_text()
    assert svg.read_text().startswith("<svg") and "polyline" in svg.read_text()
    assert f"wrote {page}" in capsys.readouterr().err


def test_report_defaults_to_a_page_named_after_the_run(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "latest", "--db", str(db)]) == 0  # latest: the one without timeline
    page = (tmp_path / "wattprint-report-notimeline00.html").read_text()
    assert "no figure" in page


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--html", "/no/such/dir/r.html"], "--html"),
        (["--svg", "{tmp}"], "is a directory"),
        (["--html", "{tmp}/ok.html", "--svg", "/no/such/dir/f.svg"], "--svg"),
    ],
)
def test_bad_paths_are_refused_before_anything_is_written(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["report", "withtime", "--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not (tmp_path / "ok.html").exists()  # the good path was not written either


def test_an_svg_of_a_run_without_timeline_is_a_usage_error(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "notime", "--db", str(db), "--svg", str(tmp_path / "f.svg")]) == 2
    assert "no timeline" in capsys.readouterr().err
    assert not (tmp_path / "f.svg").exists()


def test_report_compares_zones_and_refuses_unknown_ones(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "r.html"
    assert main(["report", "withtime", "--db", str(db), "--html", str(page)]) == 0
    text = page.read_text()
    assert "DE Germany (this run)" in text and "NO " in text and "IN " in text
    assert main(["report", "withtime", "--db", str(db), "--html", str(page), "--zones", ""]) == 0
    assert "other zones" not in page.read_text()
    bad = ["report", "withtime", "--db", str(db), "--html", str(tmp_path / "x.html")]
    assert main([*bad, "--zones", "FR,Atlantis"]) == 2
    assert "--zones" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


def test_report_hours_prices_the_run_at_each_hour_with_the_provider(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.carbon.test_compare import History

    page = tmp_path / "r.html"
    args = ["report", "withtime", "--db", str(db), "--html", str(page), "--hours"]
    assert main(args) == 2 and not page.exists()  # no provider configured: said first
    assert "--hours needs a live provider" in capsys.readouterr().err
    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: History())
    assert main(args) == 0
    html = page.read_text()
    assert "The same run at other hours" in html and html.count("<td>03:00</td>") == 1
    # 2.5 Wh over 10 s at PUE 1.1: 100 g/kWh at 03:00 (the lowest), 400 at 10:00
    assert '<td>03:00</td><td class="n">275 mg</td><td class="n">1.00</td>' in html
    assert '<td>10:00</td><td class="n">1.1 g</td><td class="n">4.00</td>' in html


def test_report_png_draws_the_figure_with_matplotlib(db: Path, tmp_path: Path) -> None:
    import struct

    png = tmp_path / "fig.png"
    assert main(["report", "withtime", "--db", str(db), "--png", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1400, 600)  # 7 x 3 in at 200 dpi
    assert not (tmp_path / "wattprint-report-withtimeline.html").exists()  # figure only


def test_report_png_without_matplotlib_says_how_to_get_it_first(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    page, png = tmp_path / "r.html", tmp_path / "fig.png"
    args = ["report", "withtime", "--db", str(db), "--html", str(page), "--png", str(png)]
    assert main(args) == 2
    assert "pip install 'wattprint[plot]'" in capsys.readouterr().err
    assert not page.exists() and not png.exists()
