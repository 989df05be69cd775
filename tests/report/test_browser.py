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


def test_dragging_across_the_figure_zooms_and_double_click_resets(tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from tests.browser import driver, errors_seen

    page = _report(tmp_path)  # 400 s of timeline: ticks 0, 100, 200, 300
    d = driver()
    try:
        d.get(page.as_uri())

        def ticks() -> list[str]:
            return [t.text for t in d.find_elements(By.CSS_SELECTOR, "svg.power text.xtick")]

        def points() -> str:
            line = d.find_element(By.CSS_SELECTOR, "svg.power polyline.series")
            return str(line.get_attribute("points"))

        assert ticks() == ["0", "100", "200", "300"]
        assert d.find_element(By.ID, "zoom-controls").is_displayed()  # the script ran
        full = points()
        svg = d.find_element(By.CSS_SELECTOR, "svg.power")
        # the plot spans x = 60..880 of the 900-px figure; drag from 25 % to 50 % of it
        w = svg.size["width"]
        x0 = -w / 2 + (60 + 0.25 * 820) * w / 900
        x1 = -w / 2 + (60 + 0.50 * 820) * w / 900
        ActionChains(d).move_to_element_with_offset(
            svg, int(x0), 0
        ).click_and_hold().move_by_offset(int(x1 - x0), 0).release().perform()
        zoomed = ticks()
        assert zoomed != ["0", "100", "200", "300"] and len(zoomed) >= 3
        assert float(zoomed[0]) >= 90 and float(zoomed[-1]) <= 210  # about 100 s to 200 s
        assert points() != full
        assert d.find_element(By.ID, "zoom-status").text.startswith("showing ")
        (tmp_path / "zoomed.png").write_bytes(d.get_screenshot_as_png())  # looked at by hand
        ActionChains(d).double_click(svg).perform()
        assert ticks() == ["0", "100", "200", "300"] and points() == full
        assert errors_seen(d) == ()
    finally:
        d.quit()
