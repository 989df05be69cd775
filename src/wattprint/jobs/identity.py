"""Who this process is in a multi-node job, from the launcher's environment.

Read, in this order (the first that says something wins):

- job id: the ``job_id`` setting, ``SLURM_JOB_ID``,
  ``TORCHELASTIC_RUN_ID`` (torchrun; its default ``none`` is no id);
- node: the ``node_id`` setting (for containers that share a hostname),
  ``SLURM_NODEID``, torchrun's ``GROUP_RANK``, else the hostname;
- rank and world: torch.distributed when it is initialised, else ``RANK``/``WORLD_SIZE``
  (torchrun), ``SLURM_PROCID``/``SLURM_NTASKS``;
- local rank: ``LOCAL_RANK`` (torchrun), ``SLURM_LOCALID``;
- nodes expected: ``SLURM_STEP_NUM_NODES`` (this step's), ``SLURM_JOB_NUM_NODES``, or torchrun's
  ``WORLD_SIZE / LOCAL_WORLD_SIZE``;
- the job's GPUs on this node: ``SLURM_STEP_GPUS`` (``SLURM_JOB_GPUS``), physical indices.

Nothing here talks to other processes: :mod:`wattprint.jobs.exchange` does, when
torch.distributed is up. A process that is in no job gets ``None`` from :func:`identify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class JobIdentity:
    job_id: str
    node_id: str
    launcher: str  # torch.distributed | torchrun | slurm | env
    rank: int
    world_size: int
    local_rank: int | None
    expected_nodes: int | None
    job_gpus: str | None  # physical GPU indices allocated on this node (SLURM), as listed

    @property
    def measures_by_env(self) -> bool:
        """Whether this process measures its node when no process group can say (the first
        local rank; a process without a local rank measures itself)."""
        return self.local_rank in (None, 0)

    @property
    def node_scope(self) -> bool:
        """Whether this process may measure its whole node (machine scope): only when ranks
        can tell who is first on the node, by a process group or a local rank. Without
        either, every rank measures itself (process scope), so a node is never counted twice."""
        return self.launcher == "torch.distributed" or self.local_rank is not None


def _int(env: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def _hostname() -> str:
    import socket  # only in a job that names no node: `wattprint run` alone never loads it

    return socket.gethostname()


def identify(
    env: Mapping[str, str],
    job_id: str | None = None,
    node_id: str | None = None,
    dist_rank_world: tuple[int, int] | None = None,
) -> JobIdentity | None:
    """This process's place in a job, or None when nothing says it is in one.

    ``job_id``/``node_id``: the settings (they win); ``dist_rank_world``: rank and world size
    from an initialised torch.distributed."""
    torchrun_id = env.get("TORCHELASTIC_RUN_ID", "")
    torchrun_id = "" if torchrun_id in ("", "none") else torchrun_id
    slurm = bool(env.get("SLURM_JOB_ID"))
    job = job_id or env.get("SLURM_JOB_ID") or torchrun_id or None
    if dist_rank_world is not None:
        rank, world = dist_rank_world
        launcher = "torch.distributed"
    else:
        rank_env = _int(env, "RANK", "SLURM_PROCID")
        world_env = _int(env, "WORLD_SIZE", "SLURM_NTASKS")
        if rank_env is None or world_env is None:
            if job is None:
                return None
            rank_env, world_env = rank_env or 0, world_env or 1
        rank, world = rank_env, world_env
        launcher = "torchrun" if "LOCAL_RANK" in env and not slurm else "slurm" if slurm else "env"
    if job is None:
        if dist_rank_world is None:
            # RANK/WORLD_SIZE alone name no job: each process measures itself, as any run
            return None
        job = "unnamed"  # torch.distributed is up: rank 0 draws an id (jobs.exchange)
    node = (
        node_id
        or env.get("SLURM_NODEID")
        or (f"group-{env['GROUP_RANK']}" if env.get("GROUP_RANK", "").isdigit() else None)
        or _hostname()
    )
    expected = _int(env, "SLURM_STEP_NUM_NODES", "SLURM_JOB_NUM_NODES", "SLURM_NNODES")
    local_world = _int(env, "LOCAL_WORLD_SIZE")
    if expected is None and local_world and world % local_world == 0:
        expected = world // local_world
    return JobIdentity(
        job_id=job,
        node_id=str(node),
        launcher=launcher,
        rank=rank,
        world_size=world,
        local_rank=_int(env, "LOCAL_RANK", "SLURM_LOCALID"),
        expected_nodes=expected,
        job_gpus=env.get("SLURM_STEP_GPUS") or env.get("SLURM_JOB_GPUS") or None,
    )
