"""An Eco2AI script runs unchanged against wattprint.compat.eco2ai, and its CSV reads like the
file the real eco2ai 0.3.12 wrote (tests/records/fixtures/eco2ai_0312_real.csv)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
REAL = Path(__file__).resolve().parents[1] / "records" / "fixtures" / "eco2ai_0312_real.csv"

# The script as an Eco2AI user wrote it; only the import changes.
SCRIPT = """
import time
from wattprint.compat import eco2ai

tracker = eco2ai.Tracker(project_name="plain", experiment_description="a plain run",
                         file_name="emission.csv", measure_period=1, alpha_2_code="DE",
                         ignore_warnings=True)
tracker.start()
sum(i * i for i in range(300_000))
tracker.stop()

tracker = eco2ai.Tracker(project_name="mnist", experiment_description="cnn, adam",
                         file_name="emission.csv", measure_period=1, alpha_2_code="DE",
                         ignore_warnings=True, pue=1.1, emission_level=300)
tracker.start_training()
for e in range(2):
    sum(i * i for i in range(200_000))
    tracker.new_epoch({"loss": 0.5 / (e + 1), "acc": 0.8 + 0.05 * e})
tracker.stop_training()

@eco2ai.track
def work():
    return sum(range(1000))

work()
"""


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def written(tmp_path: Path) -> Path:
    env = {
        "PYTHONPATH": str(SRC),
        "WATTPRINT_DB": str(tmp_path / "runs.sqlite3"),
        "WATTPRINT_CPU_TDP_W": "61",
        # The decorator's default Tracker has no alpha_2_code: the zone comes from wattprint's
        # own setting (Eco2AI would geolocate the machine; wattprint never guesses).
        "WATTPRINT_ZONE": "DE",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return tmp_path / "emission.csv"


def test_the_cells_have_eco2ai_0312s_shapes(written: Path) -> None:
    real, ours = rows(REAL), rows(written)
    assert list(ours[0]) == list(real[0])  # the same columns, in order
    assert len(ours) == 4  # plain run (updated, not appended again), 2 epochs, decorator
    plain, e1, e2, deco = ours
    uuid_re = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    assert all(re.match(uuid_re, r["id"]) for r in ours)
    assert e1["id"] == e2["id"] != plain["id"]
    assert e1["epoch"] == "epoch: 1, loss: 0.5, acc: 0.8, "
    assert e2["epoch"].startswith("epoch: 2, loss: 0.25, acc: 0.85")
    assert plain["epoch"] == "N/A" and e1["region/country"] == "(DE)"
    assert plain["region/country"] == "DE" and plain["OS"] == "Linux" == real[0]["OS"]
    assert deco["region/country"] == "DE"  # wattprint's zone setting, not a guess
    assert plain["cost"] == "0" == real[0]["cost"]
    for r in ours:
        assert re.match(r"^.+/\d+ device\(s\), TDP:\d+(\.\d+)?$", r["CPU_name"]), r["CPU_name"]
        assert r["GPU_name"] == " 0 device(s)" == real[0]["GPU_name"]
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", r["start_time"])
        for col in ("duration(s)", "power_consumption(kWh)", "CO2_emissions(kg)"):
            assert float(r[col]) >= 0
    # emission_level (kg/MWh) honoured: CO2 = energy (with PUE) x 300 / 1000
    for r in (e1, e2):
        assert float(r["CO2_emissions(kg)"]) == pytest.approx(
            float(r["power_consumption(kWh)"]) * 0.3
        )
    assert float(e1["power_consumption(kWh)"]) > 0 and deco["project_name"] == (
        "Default project name"
    )


def test_pandas_reads_the_same_dtypes_as_from_the_real_file(written: Path) -> None:
    pd = pytest.importorskip("pandas")
    real, ours = pd.read_csv(REAL), pd.read_csv(written)
    assert list(ours.columns) == list(real.columns)
    assert dict(ours.dtypes.astype(str)) == dict(real.dtypes.astype(str))


def test_wrong_order_and_unsupported_options_are_clear_errors(tmp_path: Path) -> None:
    from wattprint.compat import eco2ai
    from wattprint.errors import ConfigError

    t = eco2ai.Tracker(file_name=str(tmp_path / "e.csv"), alpha_2_code="DE")
    with pytest.raises(eco2ai.IncorrectMethodSequenceError):
        t.new_epoch({"loss": 1})
    with pytest.raises(eco2ai.IncorrectMethodSequenceError):
        t.stop_training()
    with pytest.raises(ConfigError, match="encode_file"):
        eco2ai.Tracker(encode_file=True)
    with pytest.raises(ConfigError, match="cpu_processes"):
        eco2ai.Tracker(cpu_processes="some")
