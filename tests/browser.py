"""Real headless Chromium for page tests (Debian ``chromium`` + ``chromium-driver``, driven by
Selenium through the local chromedriver: Selenium Manager never downloads anything).

``open_page`` loads a URL and returns what the browser saw: every request the page made
(Chrome DevTools ``Network.requestWillBeSent`` events from the performance log), the console
messages at SEVERE level, and a screenshot. Tests skip with a reason where Chromium is not
installed, except under CI (``CI`` set), where a missing browser is a failure: ``.ci/run``
installs it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass(frozen=True)
class PageVisit:
    requests: tuple[str, ...]  # every URL the page asked for, the page itself first
    console_errors: tuple[str, ...]
    screenshot_png: bytes
    title: str
    text: str  # the page's visible text (document.body.innerText)


def need_chromium() -> None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.environ.get("CI"):
        pytest.fail("CI installs chromium and chromium-driver (.ci/run): not found")
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium-driver)")


def driver() -> Any:
    """A headless Chromium session; the caller quits it."""
    need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1100,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def requests_seen(d: Any) -> tuple[str, ...]:
    urls = []
    for entry in d.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return tuple(urls)


def errors_seen(d: Any) -> tuple[str, ...]:
    return tuple(e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE")


def open_page(url: str) -> PageVisit:
    d = driver()
    try:
        d.get(url)
        text = d.execute_script("return document.body ? document.body.innerText : ''")
        return PageVisit(
            requests=requests_seen(d),
            console_errors=errors_seen(d),
            screenshot_png=d.get_screenshot_as_png(),
            title=d.title,
            text=text,
        )
    finally:
        d.quit()
