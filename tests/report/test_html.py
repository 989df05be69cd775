"""The HTML report: self-contained (no script, no URL), every user string escaped."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

from tests.records.store_helpers import make_run, make_timeline
from wattprint.report.html import render_html
from wattprint.report.sentence import paper_sentence

EVIL = "<script>alert(1)</script>"


def _hostile_run():  # type: ignore[no-untyped-def]
    run = make_run()
    w = run.windows[0]
    return replace(
        run,
        project=EVIL,
        experiment=f"x{EVIL}",
        tags=(EVIL,),
        windows=(replace(w, name=EVIL, metrics={EVIL: 0.5}, stage=EVIL),),
        warnings=(EVIL,),
    )


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>", page, flags=re.IGNORECASE)


def test_user_strings_are_escaped_everywhere() -> None:
    tl = make_timeline(5)
    tl = type(tl)(tl.t_s, {f"cpu:{EVIL}": v for v in tl.energy_j.values()})
    page = render_html(_hostile_run(), tl)
    # the page's own two: the zoom's data block and its script; nothing from the run
    assert _scripts(page) == ['<script type="application/json" id="power-data">', "<script>"]
    assert EVIL not in page and "</script>alert" not in page
    assert '"cpu:\\u003cscript\\u003ealert(1)\\u003c/script\\u003e":' in page
    # project (title, heading, sentence), experiment, tag, window, stage, metric, warning
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8


def test_the_page_reaches_for_nothing_outside_itself() -> None:
    page = render_html(make_run(), make_timeline(5))
    urls = set(re.findall(r"[a-z]+://[^\s\"'<>]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    # one link: the empty data: icon, so the browser does not ask the server for /favicon.ico
    assert re.findall(r"\b(?:src|href)\s*=\s*['\"]?([^'\" >]*)", page) == ["data:,"]
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing
    (allowed,) = re.findall(r"script-src '(sha256-[A-Za-z0-9+/=]+)'", page)
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert allowed == f"sha256-{digest}"  # only the zoom script may run


def test_the_page_shows_the_totals_devices_windows_and_figure() -> None:
    page = render_html(make_run(), make_timeline(5))
    assert "2.5 Wh ± 8 %" in page and "DE" in page and "Ember, 2023" in page
    assert "cpu package-0" in page and "80.0 %" in page  # 2 of 2.5 Wh
    assert "epoch 1" in page and '<polyline class="series"' in page


def test_without_a_timeline_the_page_says_there_is_no_figure() -> None:
    page = render_html(make_run(), None)
    assert "power per device over time" not in page and "no figure" in page
    assert 'aria-label="energy by device"' in page  # the breakdown needs no timeline


def test_the_paper_sentence() -> None:
    s = paper_sentence(make_run())
    assert s == (
        "The demo run used 2.5 Wh (±8 %) of IT energy over 10.0 s (CPU, RAM; estimated, "
        "measured), measured with wattprint 0.1.0. At a PUE of 1.1 and the DE grid's "
        "400 gCO2e/kWh (2024, Ember, 2023), this is 1 g CO2e."
    )
    no_zone = paper_sentence(replace(make_run(), zone=None, co2_kg=None))
    assert no_zone.endswith("no grid zone was given, so no CO2 is reported.")


def test_the_same_run_in_other_zones() -> None:
    from wattprint.carbon.compare import in_zones

    run = make_run()  # 2.5 Wh at PUE 1.1, zone DE
    zones = in_zones(run.energy_kwh, run.pue, ["PL", "DE", "FR", "de"])
    assert [z.zone for z in zones] == ["FR", "DE", "PL"]  # lowest first, DE once
    fr = zones[0]
    assert fr.co2_kg == 0.0025 * 1.1 * fr.intensity_g_per_kwh / 1000
    page = render_html(run, None, zones)
    assert "The same run in other zones" in page and "(this run)" in page
    ratio = zones[2].co2_kg / fr.co2_kg
    assert f'<td class="n">{ratio:.1f}</td>' in page


def test_suggestions_are_shown_with_saving_confidence_and_source() -> None:
    from wattprint.report.suggest import Suggestion

    s = Suggestion(
        "region", f"run in {EVIL}", 0.0, 0.25, "medium", ("same PUE", EVIL), "fixture, 2024"
    )
    page = render_html(make_run(), None, suggestions=[s])
    assert "What would have lowered it" in page and _scripts(page) == []
    assert "250 g CO2e" in page and "medium" in page and "source: fixture, 2024" in page
    assert page.count("&lt;script&gt;") == 2
    assert "What would have lowered it" not in render_html(make_run(), None, suggestions=[])


def test_co2_in_everyday_terms_with_figure_and_source() -> None:
    page = render_html(make_run(co2_kg=1.75), None)
    assert "In everyday terms" in page
    # 1.75 kg at 175 g/km
    assert '<td class="n">10 km</td><td>driving an average passenger car in Europe</td>' in page
    assert "175 g CO2 per km; UK government GHG conversion factors 2019" in page
    assert "In everyday terms" not in render_html(make_run(co2_kg=None), None)


def test_co2_per_bin_is_drawn_when_the_run_has_several_bins() -> None:
    from wattprint.records.run import IntensityBin

    def hour(h: int, g: float) -> IntensityBin:
        return IntensityBin(
            f"2024-05-01T{h:02d}:00:00.000Z", f"2024-05-01T{h + 1:02d}:00:00.000Z",
            1e-3, g, "fixture", "historical", 1.1e-3 * g / 1000,
        )  # fmt: skip

    run = replace(make_run(), intensity_bins=(hour(12, 300.0), hour(13, 100.0)))
    page = render_html(run, make_timeline(5))
    assert page.count('class="co2bin"') == 2 and "2024-05-01T13:00 UTC, 100 g/kWh" in page
    one = render_html(replace(run, intensity_bins=(hour(12, 300.0),)), make_timeline(5))
    assert 'class="co2bin"' not in one and "CO2 per time bin" in one  # one bin: the table only


def test_an_infinite_reading_draws_as_zero_and_keeps_the_zoom_data_valid() -> None:
    import json

    from wattprint.records.run import TimelineData

    tl = TimelineData((0.0, 1.0, 2.0), {"cpu": (0.0, float("inf"), float("inf"))})
    page = render_html(make_run(), tl)
    (block,) = re.findall(r'id="power-data">(.*?)</script>', page)
    assert json.loads(block)["w"]["cpu"] == [0.0, 0.0]
    assert "inf" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
