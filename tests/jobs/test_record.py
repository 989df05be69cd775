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


def test_a_window_past_its_nodes_measurement_is_said() -> None:
    mine = _node("n0", 0.1, "a")  # measured 10 s from 12:00:00
    late = Window("epoch 9", "2024-05-01T12:00:08.000Z", 30.0, 0, None, 0, ())
    reports = {1: RankReport(1, "a", "h", None, None, (late,))}
    job = JobInfo("j", "torch.distributed", "a", 0, 2, 1)
    record, _ = job_record(mine, TL, reports, {"a": 0}, job)
    (w,) = [x for x in record.windows if x.name == "rank 1: epoch 9"]
    assert w.energy_kwh == pytest.approx(2 * 360 / 3.6e6)  # only its 2 measured seconds
    assert any(
        "rank 1's windows epoch 9 ran partly outside node a's measurement" in x
        for x in record.warnings
    )


def test_wattprint_job_counts_each_record_once() -> None:
    from wattprint.cli.job_cmd import job_total
    from wattprint.records.run import NodeShare

    n1 = _node("n1", 0.2, "b")
    share = NodeShare("b", "h", "n1", 0.2, 0.2 * 1.1 * 0.4, 10.0)
    job = make_run("j0", energy_kwh=0.3, co2_kg=0.3 * 1.1 * 0.4,
                   job=JobInfo("j", "torch.distributed", None, 0, 4, 2, (share,)))  # fmt: skip
    step2 = make_run("s2", energy_kwh=0.05, co2_kg=0.05 * 1.1 * 0.4,
                     job=JobInfo("j", "slurm", "c", 0, 1, 1))  # fmt: skip
    total = job_total([n1, job, step2])  # n1 is counted by the job record: not again
    assert total["records"] == 2
    assert total["energy_kwh"] == math.fsum([0.3, 0.05])
    assert {n["node_id"] for n in total["nodes"]} == {"b", "c"}


def test_a_rank_that_does_not_measure_has_the_trackers_api(tmp_path: object) -> None:
    import wattprint
    from wattprint.errors import ConfigError

    env = {"SLURM_JOB_ID": "5", "SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "1"}
    t = wattprint.JobTracker(project="p", environ=env, db="off").start()
    assert not t.measures and t.tracker is None
    t.start_training(2)
    with t.stage("eval"):
        t.count(10)
    t.new_epoch({"loss": 0.5})
    with pytest.raises(ConfigError, match="loss"):
        t.epoch(loss=float("nan"))  # as on a measuring rank, at the call
    assert t.stop() is None and t.stop() is None  # twice is fine
    assert [w.name for w in t._windows] == ["stage:eval", "epoch 1"]
