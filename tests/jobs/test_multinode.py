"""A real 4-process job on localhost as 2 simulated nodes x 2 ranks (node identity overridden),
with torch.distributed (gloo), and the same job with SLURM variables only."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.records.store_helpers import subprocess_env
from wattprint.cli import main
from wattprint.records.reader import RunFilter, StoreReader

REPO = Path(__file__).resolve().parents[2]
pytest.importorskip("torch.distributed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(
    mode: str, envs: list[dict[str, str]], out: Path
) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker", mode, str(out)],
            cwd=REPO, env={**subprocess_env(), **env}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for env in envs
    ]  # fmt: skip
    done = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return done


def _gloo_envs(db: Path, timeout_s: str = "30") -> list[dict[str, str]]:
    port = str(_free_port())
    return [
        {
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "RANK": str(rank),
            "WORLD_SIZE": "4", "LOCAL_RANK": str(rank % 2), "LOCAL_WORLD_SIZE": "2",
            "WATTPRINT_NODE_ID": f"node{rank // 2}", "WATTPRINT_JOB_ID": "job-42",
            "WATTPRINT_DB": str(db), "WATTPRINT_JOB_TIMEOUT_S": timeout_s,
            "WATTPRINT_PROGRESS": "off",
        }
        for rank in range(4)
    ]  # fmt: skip


def _docs(out: Path) -> dict[int, Any]:
    return {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in out.glob("rank-*.json")}


def test_two_nodes_of_two_ranks_make_one_job_record(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    done = _launch("gloo", _gloo_envs(db), tmp_path)
    assert [p.returncode for p in done] == [0, 0, 0, 0], [p.stderr[-2000:] for p in done]
    docs = _docs(tmp_path)
    assert [docs[r]["measures"] for r in range(4)] == [True, False, True, False]
    assert docs[1]["run"] is None and docs[3]["run"] is None  # measured once per node
    job, node1 = docs[0]["run"], docs[2]["run"]
    info = job["job"]
    assert info["job_id"] == "job-42" and info["world_size"] == 4 and info["rank"] == 0
    assert [(n["node_id"], n["measured_by"], n["ranks"]) for n in info["nodes"]] == [
        ("node0", 0, [0, 1]), ("node1", 2, [2, 3]),
    ]  # fmt: skip
    assert info["missing_ranks"] == [] and info["expected_nodes"] == 2
    assert node1["job"]["node_id"] == "node1" and node1["scope"] == "machine"
    by_node = {n["node_id"]: n for n in info["nodes"]}
    assert by_node["node1"]["energy_kwh"] == node1["energy_kwh"]  # as rank 2 recorded it
    # the job's total is the sum of the nodes' totals, exactly
    assert job["energy_kwh"] == math.fsum(n["energy_kwh"] for n in info["nodes"])
    assert job["co2_kg"] == math.fsum(n["co2_kg"] for n in info["nodes"])
    assert job["energy_kwh"] > 0
    devices = {c["device"].split(":")[0] for c in job["components"]}
    assert devices == {"node0", "node1"}
    names = [w["name"] for w in job["windows"]]
    for rank in range(4):  # every rank's epochs are kept
        assert f"rank {rank}: epoch 1" in names and f"rank {rank}: epoch 2" in names
    rank3 = next(w for w in job["windows"] if w["name"] == "rank 3: epoch 2")
    assert rank3["metrics"] == {"loss": 0.25} and rank3["energy_kwh"] > 0  # node1's energy
    # one store here (both "nodes" on one machine): the job record counts node1 once
    with StoreReader(db) as reader:
        stored = reader.rows(RunFilter())
    assert [r.run_id for r in stored] == [job["run_id"]]


def test_a_rank_that_dies_leaves_a_partial_record_and_blocks_nobody(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    done = _launch("gloo-dies", _gloo_envs(db, timeout_s="4"), tmp_path)
    assert [p.returncode for p in done] == [0, 0, 0, 3]
    docs = _docs(tmp_path)
    assert sorted(docs) == [0, 1, 2]
    assert docs[1]["stop_s"] < docs[0]["stop_s"] and docs[2]["stop_s"] < docs[0]["stop_s"]
    info = docs[0]["run"]["job"]
    assert info["missing_ranks"] == [3] and info["missing_nodes"] == []
    assert [n["node_id"] for n in info["nodes"]] == ["node0", "node1"]  # rank 2 measured node1
    assert any(
        "partial job record: ranks 3 did not report" in w for w in docs[0]["run"]["warnings"]
    )


def test_slurm_variables_alone_and_wattprint_job(tmp_path: Path, capsys: Any) -> None:
    db = tmp_path / "runs.sqlite3"
    base = {"SLURM_JOB_ID": "777", "SLURM_NTASKS": "3", "SLURM_JOB_NUM_NODES": "2",
            "WATTPRINT_DB": str(db), "WATTPRINT_PROGRESS": "off"}  # fmt: skip
    envs = [
        {**base, "SLURM_PROCID": "0", "SLURM_NODEID": "0", "SLURM_LOCALID": "0"},
        {**base, "SLURM_PROCID": "1", "SLURM_NODEID": "0", "SLURM_LOCALID": "1"},
        {**base, "SLURM_PROCID": "2", "SLURM_NODEID": "1", "SLURM_LOCALID": "0"},
    ]
    done = _launch("slurm", envs, tmp_path)
    assert [p.returncode for p in done] == [0, 0, 0], [p.stderr[-2000:] for p in done]
    docs = _docs(tmp_path)
    assert [docs[r]["measures"] for r in range(3)] == [True, False, True]
    nodes = [docs[0]["run"], docs[2]["run"]]
    assert [n["job"]["node_id"] for n in nodes] == ["0", "1"]
    assert main(["job", "777", "--db", str(db), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)
    assert total["records"] == 2 and total["missing"] == []
    assert total["energy_kwh"] == math.fsum(n["energy_kwh"] for n in nodes)
    assert [n["node_id"] for n in total["nodes"]] == ["0", "1"]
    assert main(["job", "777", "--db", str(db)]) == 0
    assert "job 777:" in capsys.readouterr().out
    assert main(["job", "nope", "--db", str(db)]) == 2


def test_a_process_in_no_job_is_a_plain_tracker(tmp_path: Path) -> None:
    import wattprint

    env = {"PATH": os.environ.get("PATH", "")}
    t = wattprint.JobTracker(project="solo", environ=env, db="off")
    assert t.identity is None and t.measures and t.tracker is not None
    assert t.tracker.scope == "process"


def test_wattprint_run_launched_once_per_rank_measures_each_node_once(tmp_path: Path) -> None:
    """`srun wattprint run -- CMD` with 2 tasks on one node: the first local rank measures the
    node (machine scope, job id in the record); the other only runs the command."""
    db = tmp_path / "runs.sqlite3"
    base = {"SLURM_JOB_ID": "99", "SLURM_NTASKS": "2", "SLURM_NODEID": "0",
            "SLURM_JOB_NUM_NODES": "1", "WATTPRINT_DB": str(db)}  # fmt: skip
    outs = []
    for rank in (0, 1):
        marker = tmp_path / f"ran-{rank}"
        env = {**subprocess_env(), **base, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank)}
        p = subprocess.run(
            [sys.executable, "-m", "wattprint", "run", "--json", str(tmp_path / f"r{rank}.json"),
             "--", sys.executable, "-c", f"open({str(marker)!r}, 'w'); raise SystemExit(5)"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        outs.append(p)
        assert p.returncode == 5 and marker.exists()  # the command ran, its exit code kept
    record = json.loads((tmp_path / "r0.json").read_text())
    assert record["scope"] == "machine" and record["job"]["job_id"] == "99"
    assert record["job"]["node_id"] == "0" and record["job"]["rank"] == 0
    assert not (tmp_path / "r1.json").exists() and "wattprint:" not in outs[1].stderr
    with StoreReader(db) as reader:
        assert len(reader.rows(RunFilter())) == 1


def test_an_accelerate_job_under_torchrun(tmp_path: Path) -> None:
    """The real Accelerate library, launched by torchrun on localhost: one node, measured
    once, a job id drawn by rank 0 since torchrun's standalone run names none."""
    pytest.importorskip("accelerate")
    db = tmp_path / "runs.sqlite3"
    p = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_port", str(_free_port()), str(REPO / "tests/jobs/accelerate_worker.py"),
         str(tmp_path)],
        cwd=REPO, env={**subprocess_env(), "WATTPRINT_DB": str(db), "WATTPRINT_PROGRESS": "off"},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    docs = _docs(tmp_path)
    assert [docs[0]["measures"], docs[1]["measures"]] == [True, False]
    info = docs[0]["run"]["job"]
    assert info["launcher"] == "torch.distributed" and info["job_id"].startswith("torch-")
    assert [(n["node_id"], n["ranks"]) for n in info["nodes"]] == [("group-0", [0, 1])]
    assert docs[1]["run"] is None
    names = [w["name"] for w in docs[0]["run"]["windows"]]
    assert "rank 0: epoch 1" in names and "rank 1: epoch 1" in names
