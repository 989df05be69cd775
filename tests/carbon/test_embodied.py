from __future__ import annotations

import pytest

from wattprint.carbon.embodied import EMBODIED_FACTORS, embodied_kg
from wattprint.errors import ConfigError

YEAR_S = 365.25 * 24 * 3600


def test_formula_linear() -> None:
    est = embodied_kg("gpu", 8, YEAR_S)
    assert est.share_of_lifetime == pytest.approx(1 / 6)
    assert est.kgco2e == pytest.approx(150.0 * 8 / 6)
    assert est.uncertainty_pct >= 50
    assert "BLOOM" in est.source


def test_server_full_lifetime() -> None:
    assert embodied_kg("server", 1, 6 * YEAR_S).kgco2e == pytest.approx(2500.0)


def test_lifetime_override() -> None:
    est = embodied_kg("gpu", 1, YEAR_S, lifetime_years=4)
    assert est.share_of_lifetime == pytest.approx(0.25)
    assert est.kgco2e == pytest.approx(37.5)


def test_unknown_class_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        embodied_kg("tpu", 1, 60)
    msg = str(info.value)
    assert "\n" not in msg and "gpu" in msg


@pytest.mark.parametrize("kwargs", [{"count": -1}, {"duration_s": -1.0}, {"lifetime_years": 0}])
def test_bad_inputs(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {"count": 1, "duration_s": 60.0}
    args.update(kwargs)
    with pytest.raises(ConfigError):
        embodied_kg("gpu", **args)  # type: ignore[arg-type]


def test_table_rows_sourced_and_positive() -> None:
    assert EMBODIED_FACTORS
    for row in EMBODIED_FACTORS.values():
        assert row.source.strip()
        assert row.kgco2e > 0 and row.lifetime_years > 0 and row.uncertainty_pct > 0


def test_a_gpu_run_reports_embodied_carbon_apart_from_operational() -> None:
    import wattprint
    from tests.fakes import FakeClock
    from tests.fakes_nvml import FakeGpu, FakeNvml
    from wattprint.sensors.gpu.nvidia import discover_nvidia

    clock = FakeClock(0.0)
    nvml = FakeNvml(clock, [FakeGpu(), FakeGpu(uuid="GPU-00000000-1111-2222-3333-444444444444")])
    sensors, _ = discover_nvidia(nvml=nvml, environ={}, clock=clock, sleep=clock.advance)
    tracker = wattprint.Tracker(
        sensors=sensors,
        clock=clock,
        background=False,
        scope="machine",
        db=False,
        sync="off",
        zone="FR",
    ).start()
    clock.advance(3600.0)
    run = tracker.stop()
    emb = run.embodied_kgco2e
    assert emb is not None and emb.devices == 2
    assert emb.kgco2e == pytest.approx(2 * 150.0 * 3600 / (6 * 365.25 * 86400))
    op = run.co2_kg
    assert op == pytest.approx(run.energy_kwh * run.intensity_g_per_kwh / 1000)  # apart
