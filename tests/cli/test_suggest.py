"""`wattprint suggest RUN` and the suggestions in `show`: from a real store; the forecast only
when asked, from the configured provider (a stand-in at the Provider boundary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.carbon.test_forecast import Forecast
from tests.records.store_helpers import make_run
from wattprint.cli import main
from wattprint.records.run import ComponentEnergy
from wattprint.records.store import RunStore

IDLE_GPU = ComponentEnergy(
    "gpu", "GPU 0 <b>", 0.002, "nvml", "measured", 5.0, details={"mean_utilization_pct": 2.0}
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.sqlite3"
    run = make_run("suggest000001")
    run = make_run(
        "suggest000001",
        components=(*run.components, IDLE_GPU),
        energy_kwh=run.energy_kwh + 0.002,
        zone="GB",
        co2_kg=(run.energy_kwh + 0.002) * 1.1 * 0.4,
    )
    with RunStore(path) as store:
        store.finish(run)
    return path


def test_suggest_prints_the_advice_with_its_saving_and_assumptions(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suggest", "latest", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "[idle-gpu] GPU 0 <b> ran kernels under 10 %" in out
    assert "saves ~2 Wh, 880 mg CO2e (medium confidence)" in out  # 2 Wh x 1.1 x 400 g/kWh
    assert "assumes: the same work runs as fast without these GPUs" in out


def test_suggest_json_is_for_tools(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", "latest", "--db", str(db), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    idle = next(s for s in found if s["kind"] == "idle-gpu")
    assert idle["saving_kwh"] == pytest.approx(0.002)
    assert idle["saving_kg"] == pytest.approx(0.002 * 1.1 * 0.4)
    assert set(idle) == {
        "kind", "advice", "saving_kwh", "saving_kg", "confidence", "assumptions", "source"
    }  # fmt: skip


def test_show_lists_the_suggestions_without_the_details(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "latest", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "suggestions (`wattprint suggest RUN`" in out and "[idle-gpu]" in out
    assert "assumes:" not in out


def test_forecast_needs_a_provider_and_is_asked_only_with_the_flag(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["suggest", "latest", "--db", str(db), "--forecast"]) == 2
    assert "intensity_provider" in capsys.readouterr().err
    asked = []

    class Counting(Forecast):
        def forecast(self, *a: object) -> list:  # type: ignore[type-arg]
            asked.append(a)
            return super().forecast(*a)  # type: ignore[arg-type]

    monkeypatch.setattr("wattprint.carbon.plan.live_provider", lambda settings: Counting())
    assert main(["suggest", "latest", "--db", str(db)]) == 0
    assert asked == [] and "[hour]" not in capsys.readouterr().out  # no flag, no network
    assert main(["suggest", "latest", "--db", str(db), "--json", "--forecast"]) == 0
    hour = next(s for s in json.loads(capsys.readouterr().out) if s["kind"] == "hour")
    # 4.5 Wh at 400 g/kWh now, 100 g/kWh at 03:00-05:00: 4.5 Wh x 1.1 x 300 g
    assert hour["saving_kg"] == pytest.approx(0.0045 * 1.1 * 0.300)
    assert "03:00 UTC" in hour["advice"] and len(asked) == 1
