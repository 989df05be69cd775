"""Who a process is in a job, from each launcher's variables."""

from __future__ import annotations

from wattprint.jobs.identity import identify


def test_no_job() -> None:
    assert identify({}) is None
    assert identify({"RANK": "0", "WORLD_SIZE": "1"}) is None  # one process: no job


def test_torchrun() -> None:
    env = {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4",
           "GROUP_RANK": "1", "TORCHELASTIC_RUN_ID": "abc"}  # fmt: skip
    j = identify(env)
    assert j is not None
    assert (j.job_id, j.node_id, j.launcher, j.rank, j.world_size) == (
        "abc",
        "group-1",
        "torchrun",
        5,
        8,
    )
    assert (j.local_rank, j.expected_nodes, j.measures_by_env) == (1, 2, False)
    # torchrun's default run id "none" is no id: no job unless torch.distributed is up (then
    # rank 0 draws one); RANK/WORLD_SIZE alone never make a job
    assert identify({**env, "TORCHELASTIC_RUN_ID": "none"}) is None
    up = identify({**env, "TORCHELASTIC_RUN_ID": "none"}, dist_rank_world=(5, 8))
    assert up is not None and up.job_id == "unnamed" and up.node_scope
    no_local = identify({"SLURM_JOB_ID": "1", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"})
    assert no_local is not None and no_local.measures_by_env and not no_local.node_scope


def test_slurm_and_overrides() -> None:
    env = {"SLURM_JOB_ID": "77", "SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_NODEID": "1",
           "SLURM_LOCALID": "0", "SLURM_JOB_NUM_NODES": "2", "SLURM_STEP_GPUS": "2,3"}  # fmt: skip
    j = identify(env)
    assert j is not None
    assert (j.job_id, j.node_id, j.launcher, j.rank, j.world_size) == ("77", "1", "slurm", 3, 4)
    assert (j.expected_nodes, j.job_gpus, j.measures_by_env) == (2, "2,3", True)
    o = identify(env, job_id="mine", node_id="box-a", dist_rank_world=(9, 16))
    assert o is not None
    assert (o.job_id, o.node_id, o.launcher, o.rank, o.world_size) == (
        "mine", "box-a", "torch.distributed", 9, 16,
    )  # fmt: skip
