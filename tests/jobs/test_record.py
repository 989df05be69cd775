"""The job record from the ranks' reports: exact sums, windows priced on their node's
timeline, what is missing said, and the record's job field checked on import."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.records.store_helpers import make_run
from wattprint.errors import InvalidRecordError
from wattprint.jobs.record import RankReport, job_record
from wattprint.records.run import JobInfo, Run, TimelineData, Window
from wattprint.records.validate import check_run

TL = TimelineData((0.0, 10.0), {"cpu": (0.0, 3600.0)})  # 360 W: 1 Wh over 10 s


def _node(run_id: str, kwh: float, node: str) -> Run:
    return make_run(run_id, energy_kwh=kwh, co2_kg=kwh * 1.1 * 0.4, windows=(),
                    job=JobInfo("j", "torch.distributed", node, 0, 4))  # fmt: skip


def test_sums_windows_and_missing() -> None:
    mine = _node("n0", 0.1, "a")
    other = _node("n1", 0.2, "b")
    w = Window("epoch 1", "2024-05-01T12:00:02.000Z", 5.0, 0, None, 0, (), metrics={"loss": 1.0})
    reports = {
        1: RankReport(1, "a", "h", None, None, (w,)),
        2: RankReport(2, "b", "h2", other, TL, ()),
    }  # rank 3 (node b) never reported
    job = JobInfo("j", "torch.distributed", "a", 0, 4, 2)
    record, timeline = job_record(mine, TL, reports, {"a": 0, "b": 2}, job)
    assert record.energy_kwh == math.fsum([0.1, 0.2])
    assert record.co2_kg == math.fsum([0.1 * 1.1 * 0.4, 0.2 * 1.1 * 0.4])
    assert record.job is not None and record.job.missing_ranks == (3,)
    assert [(n.node_id, n.ranks, n.measured_by) for n in record.job.nodes] == [
        ("a", (0, 1), 0), ("b", (2,), 2),
    ]  # fmt: skip
    (rank1,) = [x for x in record.windows if x.name == "rank 1: epoch 1"]
    assert rank1.energy_kwh == pytest.approx(0.5 / 1000)  # 5 s of node a's 360 W
    assert rank1.co2_kg == pytest.approx(0.5 / 1000 * 1.1 * 0.4)
    assert set(timeline.energy_j) == {"a:cpu", "b:cpu"}
    assert any("ranks 3 did not report" in x for x in record.warnings)
    assert {c.device.split(":")[0] for c in record.components} == {"a", "b"}
    check_run(record)
    again = Run.from_dict(record.to_dict())
    assert again.job == record.job


def test_a_report_that_is_not_one_and_a_forged_job_field() -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        RankReport.from_doc({"rank": "x"})
    good = make_run(job=JobInfo("j", "slurm", "0", 0, 2))
    check_run(good)
    with pytest.raises(InvalidRecordError, match="job job_id"):
        check_run(replace(good, job=JobInfo("\x1b[31m", "slurm")))
    with pytest.raises(InvalidRecordError, match="job rank"):
        check_run(replace(good, job=JobInfo("j", "slurm", rank=True)))  # type: ignore[arg-type]
