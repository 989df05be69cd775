"""How long `wattprint report` takes to render a run with many timeline points (issue #11: a
100k-sample run in <= 2 s). Baseline in the same process: serialising the same timeline to
JSON, which any report must at least match in order of magnitude.

    python benchmarks/report.py [--points 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.records.store_helpers import make_run
from wattprint.records.run import TimelineData
from wattprint.report.html import render_html


def timeline(n: int) -> TimelineData:
    t = [0.1 * i for i in range(n)]
    keys = ("cpu:package-0", "gpu:0", "ram")
    out = {}
    for k, key in enumerate(keys):
        joules, acc = [], 0.0
        for i in range(n):
            acc += 0.1 * (40 + 30 * math.sin(i / (300 + 100 * k)))
            joules.append(acc)
        out[key] = tuple(joules)
    return TimelineData(tuple(t), out)


def best_of(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, default=100_000)
    n = p.parse_args().points
    tl, run = timeline(n), make_run()
    page = render_html(run, tl)
    render_s = best_of(lambda: render_html(run, tl))
    json_s = best_of(lambda: json.dumps({"t_s": tl.t_s, "energy_j": tl.energy_j}))
    print(f"points: {n:,} x {len(tl.energy_j)} devices; page: {len(page) / 1024:.0f} KiB")
    print(f"render_html: {render_s * 1000:.1f} ms (budget 2000 ms)")
    print(f"baseline json.dumps of the timeline: {json_s * 1000:.1f} ms")
    print(f"ratio render / json: {render_s / json_s:.2f}")
    browser(page)


# Drag across the middle half of the plot (synthetic pointer events: the handlers run
# synchronously, so the time around dispatch is the redraw's), then read the load timing.
ZOOM_JS = """
const svg = document.querySelector('svg.power'), box = svg.getBoundingClientRect();
const at = (f) => ({clientX: box.left + box.width * (60 + f * 820) / 900,
                    clientY: box.top + box.height / 2, bubbles: true});
const t0 = performance.now();
svg.dispatchEvent(new PointerEvent('pointerdown', at(0.25)));
svg.dispatchEvent(new PointerEvent('pointerup', at(0.75)));
const zoom = performance.now() - t0;
const nav = performance.getEntriesByType('navigation')[0];
return [nav.loadEventEnd, zoom, document.getElementById('zoom-status').textContent];
"""


def browser(page: str) -> None:
    """The page in headless Chromium (when installed): load time and one zoom's redraw."""
    import shutil
    import tempfile

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        print("chromium: not installed (apt-get install chromium-driver); page timing skipped")
        return
    from tests.browser import driver

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        d = driver()
        try:
            d.get(path.as_uri())
            load_ms, zoom_ms, status = d.execute_script(ZOOM_JS)
        finally:
            d.quit()
    print(f"chromium: page loaded in {load_ms:.0f} ms; a zoom redraw took {zoom_ms:.1f} ms")
    print(f"  ({status}; a frame at 60 Hz is 16.7 ms)")


if __name__ == "__main__":
    main()
