"""The dashboard in real headless Chromium against the real server on 127.0.0.1: pages load,
plots render, filters change the list, compare works, no console error, no request off
127.0.0.1, a hostile project name shown as text, and the store's bytes unchanged."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import driver, errors_seen, requests_seen
from tests.dashboard.conftest import EVIL
from wattprint.dashboard.server import make
from wattprint.records.reader import StoreReader


@pytest.fixture
def served(store_path: Path) -> Iterator[str]:
    with StoreReader(store_path) as reader:
        server = make(reader, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()


def test_a_session_in_chromium(served: str, store_path: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    d = driver()
    requests: list[str] = []
    errors: list[str] = []
    try:

        def visit_done(name: str) -> None:
            requests.extend(requests_seen(d))
            errors.extend(errors_seen(d))
            (tmp_path / f"{name}.png").write_bytes(d.get_screenshot_as_png())  # looked at

        def listed() -> list[str]:
            return [a.text for a in d.find_elements(By.CSS_SELECTOR, "#runs td a")]

        d.get(served + "/")
        assert len(listed()) == 5
        projects = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#runs td.project")]
        assert EVIL in projects  # the name as text: no script ran, the row is there
        visit_done("runs")
        Select(d.find_element(By.ID, "f-project")).select_by_visible_text("vision")
        d.find_element(By.ID, "f-apply").click()
        WebDriverWait(d, 10).until(lambda _: "project=vision" in d.current_url)
        WebDriverWait(d, 10).until(lambda _: len(listed()) == 2)
        assert listed() == ["run-a2-00000", "run-a1-00000"]
        visit_done("filtered")
        for box in d.find_elements(By.CSS_SELECTOR, "#runs input[type=checkbox]"):
            box.click()
        d.find_element(By.ID, "compare").click()
        WebDriverWait(d, 10).until(lambda _: "/compare?" in d.current_url)
        assert "/compare?run=run-a2-000002&run=run-a1-000001" in d.current_url
        bars = d.find_elements(By.CSS_SELECTOR, "svg rect.bar")
        assert len(bars) == 2 and all(b.size["width"] > 0 for b in bars)
        visit_done("compare")
        d.find_element(By.LINK_TEXT, "run-a1-00000").click()
        WebDriverWait(d, 10).until(lambda _: "/run/run-a1-000001" in d.current_url)
        figure = d.find_element(By.CSS_SELECTOR, "svg.power")
        assert figure.size["width"] > 500 and figure.size["height"] > 200
        assert d.find_elements(By.CSS_SELECTOR, "svg.power polyline.series")
        assert d.find_element(By.ID, "zoom-controls").is_displayed()  # its script ran
        visit_done("run")
        d.get(served + "/projects")
        months = d.find_elements(By.CSS_SELECTOR, "rect.month")
        assert len(months) == 5 and all(m.size["height"] > 0 for m in months)
        assert EVIL in d.find_element(By.TAG_NAME, "body").text
        visit_done("projects")
        d.get(served + "/esg?from=2026-01-01&to=2026-12-31")
        assert "Runs not counted (1)" in d.find_element(By.TAG_NAME, "body").text
        visit_done("esg")
        d.get(served + "/?project=" + EVIL)
        assert listed() == ["run-c1-00000"]
        visit_done("evil")
    finally:
        d.quit()
    off_host = [u for u in requests if not u.startswith((served + "/", "data:"))]
    assert off_host == [] and len(requests) >= 8
    assert errors == []
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before


def test_the_cli_serves_on_loopback_and_refuses_a_bad_port(store_path: Path) -> None:
    import subprocess
    import sys
    import urllib.request

    from tests.records.store_helpers import subprocess_env

    cmd = [sys.executable, "-m", "wattprint", "dashboard", "--db", str(store_path)]
    bad = subprocess.run(
        [*cmd, "--port", "70000"], capture_output=True, text=True, env=subprocess_env()
    )
    assert bad.returncode == 2 and "--port 70000 is out of range" in bad.stderr
    proc = subprocess.Popen(
        [*cmd, "--port", "0"], stdout=subprocess.PIPE, text=True, env=subprocess_env()
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("wattprint dashboard on http://127.0.0.1:") and "read-only" in line
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=10) as resp:
            page: Any = resp.read().decode()
            assert resp.status == 200 and "run-a1-00000" in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_runs_with_odd_ids_open_from_their_links(tmp_path: Path) -> None:
    """Imported records may carry any printable id: the links percent-encode it."""
    import re
    import urllib.request

    from tests.records.store_helpers import make_run
    from wattprint.records.store import RunStore

    path = tmp_path / "odd.sqlite3"
    ids = ["café-run", "a?b#c", "x/y", "q'uote\"d"]
    with RunStore(path) as store:
        for i, run_id in enumerate(ids):
            store.finish(make_run(run_id, started_at=f"2026-01-0{i + 1}T00:00:00.000Z"))
    with StoreReader(path) as reader:
        server = make(reader, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with urllib.request.urlopen(base + "/", timeout=10) as resp:
                listing = resp.read().decode()
            import html

            hrefs = [html.unescape(h) for h in re.findall(r"href='(/run/[^']+)'", listing)]
            assert len(hrefs) == 4
            for href in hrefs:
                with urllib.request.urlopen(base + href, timeout=10) as resp:
                    assert resp.status == 200
        finally:
            server.shutdown()
            server.server_close()
