"""``JobTracker``: the same ``with`` block in every rank of a multi-node job, one total.

    with wattprint.JobTracker(project="llm", zone="DE") as t:   # in every rank
        for epoch in range(epochs):
            train_one_epoch()
            t.epoch(loss=loss)

- Exactly one process per node measures it: the lowest rank of each node (ranks tell each
  other their node through torch.distributed's store when it is initialised), else the first
  local rank (``LOCAL_RANK``/``SLURM_LOCALID`` 0). It measures the node in machine scope (the
  job's cgroup where there is one) and the GPUs allocated to the job there
  (``SLURM_STEP_GPUS``, else what it sees); its record is the node's, with the job id.
- Other ranks measure nothing; their windows and epochs are kept and sent to rank 0, which
  prices them with their node's energy.
- With torch.distributed, rank 0 gathers the nodes' records and writes the job's record (per
  node breakdown, job id); it waits at most ``job_timeout_s`` and says which ranks did not
  report. Nobody else waits for anybody. Without torch.distributed (SLURM alone) each node's
  record carries the job id, and ``wattprint job JOB_ID`` adds them up.
- A process in no job is tracked as a plain :class:`~wattprint.Tracker`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from wattprint.jobs.identity import JobIdentity, identify
from wattprint.records.run import JobInfo, Run, TimelineData, Window
from wattprint.records.windows import check_metrics
from wattprint.settings import resolve
from wattprint.tracker import Tracker


class JobTracker:
    """A :class:`~wattprint.Tracker` for one rank of a multi-node job (keywords: the
    Tracker's settings; ``environ``: for tests, the launcher's variables)."""

    def __init__(
        self,
        project: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        self.settings = resolve({"project": project, **options})
        env = os.environ if environ is None else environ
        from wattprint.jobs.exchange import torch_store

        self._store = torch_store()
        rank_world = _dist_rank_world() if self._store is not None else None
        self.identity: JobIdentity | None = identify(
            env, self.settings.job_id, self.settings.node_id, rank_world
        )
        self._exchange: Any = None
        self.measured_by: dict[str, int] = {}
        self.measures = True
        ident = self.identity
        if ident is not None and self._store is not None:
            from dataclasses import replace

            from wattprint.jobs.exchange import Exchange, session_prefix, shared_job_id

            if ident.job_id == "unnamed":  # no launcher named it: rank 0 draws one for all
                ident = self.identity = replace(
                    ident, job_id=shared_job_id(self._store, ident.rank)
                )

            self._exchange = Exchange(
                self._store,
                session_prefix(self._store, ident.job_id, ident.rank, self.settings.project),
            )
            self.measures = self._agree(ident)
        elif ident is not None:
            self.measures = ident.measures_by_env
        self.tracker: Tracker | None = None
        self._windows: list[Window] = []
        self._open: dict[str, tuple[str, float]] = {}
        self._epochs = 0
        self._epoch_mark = (_now_iso(), time.monotonic())
        self._node_runs: list[str] = []
        self._stopped = False
        if self.measures:
            given = {k: v for k, v in options.items() if v is not None}
            if (
                ident is not None
                and ident.node_scope
                and self.settings.source("scope") == "default"
            ):
                given["scope"] = "machine"  # the node, not this rank: other ranks are on it
            hardware = None
            if ident is not None and ident.job_gpus:
                from wattprint.sensors.discovery import HardwareOptions

                hardware = HardwareOptions(
                    gpu_environ={**env, "CUDA_VISIBLE_DEVICES": ident.job_gpus}
                )
            self.tracker = Tracker(project, hardware=hardware, **given)
            if ident is not None:
                self.tracker.job = JobInfo(
                    ident.job_id, ident.launcher, ident.node_id, ident.rank,
                    ident.world_size, ident.expected_nodes,
                )  # fmt: skip
        self.run: Run | None = None

    def _agree(self, ident: JobIdentity) -> bool:
        """Who measures each node, decided once by rank 0 and published: every rank posts its
        node, rank 0 collects (up to job_timeout_s) and posts the assignment, the others read
        it. A rank that gets no assignment in time falls back to its local rank (and says so):
        never two views of one node."""
        ex, timeout_s = self._exchange, self.settings.job_timeout_s
        ex.put("node", ident.rank, ident.node_id)
        if ident.rank == 0:
            nodes = ex.collect("node", list(range(ident.world_size)), timeout_s)
            for rank in sorted(nodes):
                self.measured_by.setdefault(str(nodes[rank]), rank)
            ex.put("assign", 0, self.measured_by)
        else:
            got = ex.collect("assign", [0], 2 * timeout_s).get(0)  # rank 0 may wait timeout_s
            if not isinstance(got, dict):
                import warnings

                from wattprint.errors import WattprintWarning

                warnings.warn(
                    f"rank {ident.rank}: no word from rank 0 within {timeout_s:g} s on who "
                    "measures each node; the first local rank measures this one",
                    WattprintWarning,
                    stacklevel=3,
                )
                return ident.measures_by_env
            self.measured_by = {str(k): int(v) for k, v in got.items() if isinstance(v, int)}
        return self.measured_by.get(ident.node_id) == ident.rank

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> JobTracker:
        if self.tracker is not None:
            self.tracker.start()
        self._epoch_mark = (_now_iso(), time.monotonic())
        return self

    def stop(self) -> Run | None:
        """End this rank's part. Returns the record this rank wrote: the job's on rank 0 (with
        torch.distributed), the node's on a measuring rank, None elsewhere."""
        if self._stopped:
            return self.run
        self._stopped = True
        ident, ex = self.identity, self._exchange
        if self.tracker is None:
            if ident is not None and ex is not None:
                ex.put("report", ident.rank, self._report(None, None).to_doc())
            return None
        if ident is None or ex is None:
            self.run = self.tracker.stop()
            return self.run
        if ident.rank == 0:
            self.run = self.tracker.stop(complete=self._make_job_record)
            self._drop_node_records()
            return self.run
        kept: list[TimelineData] = []

        def keep(run: Run, timeline: TimelineData) -> tuple[Run, TimelineData]:
            kept.append(timeline)
            return run, timeline

        self.run = self.tracker.stop(complete=keep)
        ex.put("report", ident.rank, self._report(self.run, kept[0] if kept else None).to_doc())
        return self.run

    def _report(self, run: Run | None, timeline: TimelineData | None) -> Any:
        from wattprint.jobs.record import RankReport

        assert self.identity is not None
        from wattprint.records.context import hostname

        return RankReport(
            self.identity.rank, self.identity.node_id, hostname(), run, timeline,
            tuple(self._windows),
        )  # fmt: skip

    def _make_job_record(self, run: Run, timeline: TimelineData) -> tuple[Run, TimelineData]:
        from wattprint.jobs.record import RankReport, job_record

        ident = self.identity
        assert ident is not None and self.tracker is not None and self.tracker.job is not None
        others = [r for r in range(ident.world_size) if r != ident.rank]
        docs = self._exchange.collect("report", others, self.settings.job_timeout_s)
        reports: dict[int, RankReport] = {}
        for rank, doc in docs.items():
            try:
                reports[rank] = RankReport.from_doc(doc)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a message that is not a report counts as missing
        record, job_timeline = job_record(
            run, timeline, reports, self.measured_by, self.tracker.job
        )
        assert record.job is not None
        # only the node records the job's record counts (never rank 0's own: it became it)
        self._node_runs = [n.run_id for n in record.job.nodes if n.run_id != run.run_id]
        return record, job_timeline

    def _drop_node_records(self) -> None:
        """Where other nodes' records are in this store too (one machine, or a store shared by
        several), the job's record already counts them: remove them so totals count once."""
        runs = self._node_runs
        if not runs or self.tracker is None or not self.tracker.stored:
            return
        from wattprint.errors import StoreError
        from wattprint.records.store import RunStore

        try:
            with RunStore(self.tracker.settings.db) as store:
                for run_id in runs:
                    store.delete(run_id)
        except StoreError:
            return

    def __enter__(self) -> JobTracker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self.tracker is not None:
            self.tracker.fail(f"{type(exc).__name__}: {exc}")
        if exc is None:
            self.stop()
            return
        try:
            self.stop()
        except Exception as stop_exc:  # noqa: BLE001 - the user's exception must come through
            import warnings

            from wattprint.errors import WattprintWarning

            warnings.warn(f"could not record the job: {stop_exc}", WattprintWarning, stacklevel=2)

    # -- windows ---------------------------------------------------------------------------
    def begin_window(self, name: str) -> None:
        if self.tracker is not None:
            self.tracker.begin_window(name)
        else:
            self._open[name] = (_now_iso(), time.monotonic())

    def end_window(self, name: str, **metrics: float) -> None:
        if self.tracker is not None:
            self.tracker.end_window(name)
            return
        started = self._open.pop(name, None)
        if started is not None:
            self._windows.append(
                Window(
                    name,
                    started[0],
                    time.monotonic() - started[1],
                    0.0,
                    None,
                    0.0,
                    (),
                    metrics=check_metrics(metrics),
                )
            )

    def new_epoch(self, params: dict[str, float] | None = None) -> None:
        """Eco2AI's name for :meth:`epoch`."""
        self.epoch(**(params or {}))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """``with t.stage("eval"):``: a window ``stage:NAME`` on every rank."""
        if self.tracker is not None:
            with self.tracker.stage(name):
                yield
            return
        with self.window(f"stage:{name}"):
            yield

    def start_training(self, epochs: int | None = None) -> None:
        if self.tracker is not None:
            self.tracker.start_training(epochs)
        self._epoch_mark = (_now_iso(), time.monotonic())

    def stop_training(self) -> None:
        if self.tracker is not None:
            self.tracker.stop_training()

    def count(self, n: int) -> None:
        """Items processed. Counted where the node is measured; on a rank that does not
        measure this is ignored, so count each node's items on its measuring rank (the job's
        record adds the nodes' counts)."""
        if self.tracker is not None:
            self.tracker.count(n)

    def fail(self, error: str) -> None:
        if self.tracker is not None:
            self.tracker.fail(error)

    @contextmanager
    def window(self, name: str) -> Iterator[None]:
        self.begin_window(name)
        try:
            yield
        finally:
            self.end_window(name)

    def epoch(self, **metrics: float) -> None:
        """Close the current epoch (with its metrics) and open the next, as Tracker.epoch."""
        if self.tracker is not None:
            self.tracker.epoch(**metrics)
            return
        self._epochs += 1
        started, t0 = self._epoch_mark
        now = time.monotonic()
        self._windows.append(
            Window(
                f"epoch {self._epochs}",
                started,
                now - t0,
                0.0,
                None,
                0.0,
                (),
                metrics=check_metrics(metrics),
                stage="train",
            )
        )
        self._epoch_mark = (_now_iso(), now)


def _now_iso() -> str:
    from wattprint.records.context import iso_utc

    return iso_utc(time.time())


def _dist_rank_world() -> tuple[int, int] | None:
    import sys

    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_initialized():
        return None
    return int(dist.get_rank()), int(dist.get_world_size())
