"""The suggestions engine on fixture runs: the expected advice and savings, to the figure."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.records.store_helpers import make_run
from wattprint.carbon.forecast import BestStart
from wattprint.records.run import ComponentEnergy, Prediction, Run
from wattprint.report.suggest import Place, suggestions


def _c(name: str, device: str, kwh: float, **details: Any) -> ComponentEnergy:
    return ComponentEnergy(name, device, kwh, "m", "estimated", 10.0, details=details)


def _run(components: tuple[ComponentEnergy, ...], **kw: Any) -> Run:
    total = sum(c.energy_kwh for c in components)
    fields: dict[str, Any] = {
        "components": components,
        "energy_kwh": total,
        "zone": "aws:us-east-1",
        "intensity_g_per_kwh": 400.0,
        "pue": 1.2,
        "co2_kg": total * 1.2 * 0.4,
        "windows": (),
    }
    fields.update(kw)
    return make_run(**fields)


PLACES = [
    Place("aws:us-east-1", "AWS us-east-1", "US", 400.0, "fixture", 2024),  # the runs' zone
    Place("aws:a", "AWS a", "US", 100.0, "fixture", 2024),
    Place("aws:b", "AWS b", "SE", 20.0, "fixture", 2024),
    Place("aws:c", "AWS c", "US", 390.0, "fixture", 2024),  # under 10 % cleaner: not worth it
    Place("gcp:x", "GCP x", "US", 50.0, "fixture", None),  # another provider
]

GPU_JOB = (
    _c("gpu", "gpu0", 0.2, mean_utilization_pct=5.0),
    _c("gpu", "gpu1", 1.0, mean_utilization_pct=85.0, power_limit_w=400.0),
    _c("cpu", "cpu", 0.3),
    _c("ram", "dram", 0.05),
    _c("storage", "vda", 0.01),
)


def test_a_cloud_gpu_job_gets_regions_an_idle_gpu_and_a_power_cap() -> None:
    found = suggestions(_run(GPU_JOB), places=PLACES)
    assert [(s.kind, s.advice.split(" ")[2] if s.kind == "region" else None) for s in found] == [
        ("region", "aws:b"),  # 1.56 kWh x 1.2 x (400 - 20) g
        ("region", "aws:a"),  # the cleanest in the same country: x (400 - 100) g
        ("idle-gpu", None),
        ("power-cap", None),
    ]
    far, near, idle, cap = found
    assert far.saving_kg == pytest.approx(1.56 * 1.2 * 0.380) and far.saving_kwh == 0
    assert near.saving_kg == pytest.approx(1.56 * 1.2 * 0.300)
    assert "same country" in near.advice and "anywhere" in far.advice
    assert far.source == "fixture, 2024" and far.confidence == "medium"
    assert idle.saving_kwh == pytest.approx(0.2) and idle.saving_kg == pytest.approx(0.096)
    assert "gpu0" in idle.advice and "CUDA_VISIBLE_DEVICES" in idle.advice
    assert cap.saving_kwh == pytest.approx(0.15) and cap.saving_kg == pytest.approx(0.072)
    assert "gpu1 to 240-320 W" in cap.advice and cap.confidence == "low"
    assert cap.source is not None and "arXiv:2205.09646" in cap.source


def test_a_starved_gpu_and_memory_heavy_job_without_a_zone() -> None:
    run = _run(
        (
            _c("gpu", "gpu0", 0.5, mean_utilization_pct=30.0),
            _c("cpu", "cpu", 0.2),
            _c("ram", "dram", 0.25),
            _c("storage", "vda", 0.05),
        ),
        zone=None,
        intensity_g_per_kwh=None,
        co2_kg=None,
    )
    memory, starved = suggestions(run, places=PLACES)
    # RAM + storage are 30 % of 1 kWh; at a typical 10 % they would be 0.7 x 1/9 kWh
    assert memory.kind == "memory-storage"
    assert memory.saving_kwh == pytest.approx(0.3 - 0.7 / 9) and memory.saving_kg is None
    assert "30 %" in memory.advice and memory.assumptions[-1].startswith("RAM and storage energy")
    # busy 30 % of the time against 90 %: a third of the time; RAM + storage for the rest
    assert starved.kind == "gpu-starved"
    assert starved.saving_kwh == pytest.approx(0.3 * (1 - 30 / 90))
    assert "30 %" in starved.advice


def test_a_run_on_a_country_grid_gets_a_cleaner_cloud_region_there() -> None:
    places = [
        Place("gcp:de", "GCP de", "DE", 200.0, "fixture", 2024),
        Place("aws:de", "AWS de", "DE", 300.0, "fixture", 2024),
        Place("gcp:no", "GCP no", "NO", 10.0, "fixture", 2024),  # another country: not offered
        Place("DE", "Germany", "DE", 400.0, "fixture", 2024),  # the run's own zone, annual
    ]
    cpu_only = (_c("cpu", "cpu", 1.0),)
    (found,) = suggestions(_run(cpu_only, zone="DE", co2_kg=0.48), places=places)
    assert found.kind == "zone" and "gcp:de" in found.advice
    assert found.saving_kg == pytest.approx(1.0 * 1.2 * 0.200)


def test_a_cleaner_hour_from_the_prediction_or_a_forecast() -> None:
    cpu_only = (_c("cpu", "cpu", 1.0),)
    p = Prediction(
        1, 10, 1.0, 0.9, 1.1, 10.0, 9.0, 11.0,
        best_start_at="2024-05-02T03:00:00Z", best_start_co2_kg=0.3, co2_if_started_now_kg=0.5,
    )  # fmt: skip
    (hour,) = suggestions(_run(cpu_only, prediction=p), places=[])
    assert hour.kind == "hour" and "2024-05-02T03:00:00Z" in hour.advice
    assert hour.saving_kg == pytest.approx(0.2) and "after epoch 1" in (hour.source or "")
    best = BestStart(datetime(2024, 5, 2, 4, tzinfo=timezone.utc), co2_kg=0.1, co2_now_kg=0.4)
    (hour,) = suggestions(_run(cpu_only), best=best, places=[])
    assert hour.saving_kg == pytest.approx(0.3) and "2024-05-02 04:00 UTC" in hour.advice
    dearer = BestStart(datetime(2024, 5, 2, 4, tzinfo=timezone.utc), co2_kg=0.4, co2_now_kg=0.4)
    assert suggestions(_run(cpu_only), best=dearer, places=[]) == []


def test_a_lean_run_gets_no_advice() -> None:
    lean = (
        _c("gpu", "gpu0", 0.3, mean_utilization_pct=95.0),
        _c("cpu", "cpu", 0.6),
        _c("ram", "dram", 0.1),
    )  # busy GPU under half the energy, RAM 10 %, already in the cleanest place
    assert suggestions(_run(lean), places=[*PLACES[:1], PLACES[3]]) == []


def test_bundled_regions_offer_a_cleaner_us_region_for_us_east_1() -> None:
    from wattprint.carbon import zones

    here = zones.intensity("aws:us-east-1").intensity_g_per_kwh
    # a live hourly figure far above the annual one must not inflate the saving
    run = _run(GPU_JOB, intensity_g_per_kwh=900.0, co2_kg=1.56 * 1.2 * 0.9)
    regions = [s for s in suggestions(run) if s.kind == "region"]
    assert regions and all(s.advice.startswith("run in aws:") for s in regions)
    near = next(s for s in regions if "same country" in s.advice)
    code = near.advice.split(" ")[2]
    assert zones.lookup_zone(code).parent == "US"
    there = zones.intensity(code).intensity_g_per_kwh
    assert there <= 0.9 * here
    assert near.saving_kg == pytest.approx(1.56 * 1.2 * (here - there) / 1000)
