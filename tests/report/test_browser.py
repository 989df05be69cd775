"""The report in a real headless Chromium: it loads, draws its figures, asks for nothing
outside the file, logs no console error, and shows a hostile name as text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.browser import open_page
from tests.records.store_helpers import make_run, make_timeline
from wattprint.cli import main
from wattprint.records.store import RunStore

EVIL = "<script>alert(1)</script>"


def _report(tmp_path: Path) -> Path:
    run = make_run("browser000001")
    run = replace(
        run,
        project=EVIL,
        windows=(replace(run.windows[0], name=f"win {EVIL}"),),
    )
    db, page = tmp_path / "runs.sqlite3", tmp_path / "report.html"
    with RunStore(db) as store:
        store.finish(run, make_timeline(400))
    assert main(["report", "latest", "--db", str(db), "--html", str(page)]) == 0
    return page


def test_the_report_renders_offline_without_errors(tmp_path: Path) -> None:
    page = _report(tmp_path)
    visit = open_page(page.as_uri())
    (tmp_path / "report.png").write_bytes(visit.screenshot_png)  # looked at by hand
    assert visit.requests and visit.requests[0] == page.as_uri()
    assert [u for u in visit.requests if not u.startswith(("file:", "data:"))] == []
    assert visit.console_errors == ()
    assert EVIL in visit.title and EVIL in visit.text  # shown as text, never run
    assert f"win {EVIL}" in visit.text
    assert "Power over time" in visit.text and "For a paper" in visit.text
    assert len(visit.screenshot_png) > 10_000  # a drawn page, not a blank one


def test_the_checks_see_a_request_and_an_error_when_a_page_makes_them(tmp_path: Path) -> None:
    """The harness itself: a page that fetches from off the machine and throws is caught."""
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><title>leaky</title><img src='http://127.0.0.1:9/pixel.png'>"
        "<script>throw new Error('boom')</script>"
    )
    visit = open_page(page.as_uri())
    assert "http://127.0.0.1:9/pixel.png" in visit.requests
    assert any("boom" in e for e in visit.console_errors)
