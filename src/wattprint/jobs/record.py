"""The job's record, made by rank 0 from what every rank sent: each node's own record (from
the rank that measured it), each other rank's windows, and what did not arrive.

Totals are sums over nodes (``math.fsum``, in node order): the job's energy is exactly the
sum of the node records' energies. Devices are named ``node: device``; the timeline has one
series per node and device, on rank 0's clock. A window of a rank that did not measure gets
its node's energy over that window (the node's timeline between its edges), not a share of
it: ranks of one node share its devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from wattprint.records.context import parse_iso_utc
from wattprint.records.run import (
    J_PER_KWH,
    JobInfo,
    NodeShare,
    Overhead,
    Run,
    TimelineData,
    Window,
    combined_uncertainty_pct,
)

MAX_JOB_WINDOWS = 1000


@dataclass(frozen=True)
class RankReport:
    """What one rank sent at its stop."""

    rank: int
    node_id: str
    host: str
    run: Run | None  # its node's record, if this rank measured the node
    timeline: TimelineData | None
    windows: tuple[Window, ...]  # a rank that did not measure: its windows, without energy

    def to_doc(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "node_id": self.node_id,
            "host": self.host,
            "run": self.run.to_dict() if self.run is not None else None,
            "timeline": (
                {
                    "t_s": list(self.timeline.t_s),
                    "energy_j": {k: list(v) for k, v in self.timeline.energy_j.items()},
                }
                if self.timeline is not None
                else None
            ),
            "windows": [
                {
                    "name": w.name,
                    "started_at": w.started_at,
                    "duration_s": w.duration_s,
                    "metrics": w.metrics,
                    "stage": w.stage,
                }
                for w in self.windows
            ],
        }

    @classmethod
    def from_doc(cls, doc: Any) -> RankReport:
        """Raises ValueError/TypeError/KeyError for a message that is not one; the record it
        carries is checked like an imported one (records/validate.py)."""
        from wattprint.records.validate import check_run

        run = Run.from_dict(doc["run"]) if doc.get("run") is not None else None
        if run is not None:
            check_run(run)
        tl = doc.get("timeline")
        timeline = (
            TimelineData(
                tuple(float(t) for t in tl["t_s"]),
                {str(k): tuple(float(x) for x in v) for k, v in tl["energy_j"].items()},
            )
            if tl is not None
            else None
        )
        for w in doc.get("windows", ()):
            parse_iso_utc(str(w["started_at"]))  # ValueError for a time that is not one
        windows = tuple(
            Window(
                str(w["name"]),
                str(w["started_at"]),
                float(w["duration_s"]),
                0.0,
                None,
                0.0,
                (),
                metrics=_checked_metrics(w.get("metrics") or {}),
                stage=w.get("stage"),
            )
            for w in doc.get("windows", ())
        )
        return cls(int(doc["rank"]), str(doc["node_id"]), str(doc["host"]), run, timeline, windows)


def _checked_metrics(values: Any) -> dict[str, float]:
    from wattprint.errors import ConfigError
    from wattprint.records.windows import check_metrics

    try:
        return check_metrics(dict(values))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _curve(timeline: TimelineData | None, key: str | None = None) -> Any:
    """The cumulative joules of ``timeline`` (one series, or all) as a piecewise-linear
    function (``carbon.accounting.EnergyCurve``); None for a timeline that is not one (a
    rank's report is checked, never trusted)."""
    from wattprint.carbon.accounting import EnergyCurve
    from wattprint.errors import ConfigError

    if timeline is None:
        return None
    if key is not None:
        timeline = TimelineData(timeline.t_s, {key: timeline.energy_j[key]})
    try:
        return EnergyCurve(timeline)
    except ConfigError:
        return None


def _rank_window(w: Window, rank: int, node: Run, curve: Any) -> Window:
    """``w`` priced on its node's energy curve (``_curve`` of the node's timeline, or None)."""
    energy_kwh = 0.0
    if curve is not None:
        a = parse_iso_utc(w.started_at).timestamp() - parse_iso_utc(node.started_at).timestamp()
        energy_kwh = max(0.0, curve.at(a + w.duration_s) - curve.at(a)) / J_PER_KWH
    per_kwh = (
        node.co2_kg / node.energy_kwh if node.co2_kg is not None and node.energy_kwh > 0 else None
    )
    return replace(
        w,
        name=f"rank {rank}: {w.name}",
        energy_kwh=energy_kwh,
        co2_kg=energy_kwh * per_kwh if per_kwh is not None else None,
        uncertainty_pct=node.uncertainty_pct,
    )


def job_record(
    mine: Run,
    my_timeline: TimelineData,
    reports: dict[int, RankReport],
    measured_by: dict[str, int],
    job: JobInfo,
) -> tuple[Run, TimelineData]:
    """The job's record from rank 0's own node record (``mine``, ``my_timeline``), the other
    ranks' ``reports``, which rank measures each node (``measured_by``) and ``job`` (id,
    launcher, world size; its breakdown is filled here)."""
    assert job.world_size is not None
    ranks_of: dict[str, list[int]] = {}
    node_of = {r.rank: r.node_id for r in reports.values()}
    if job.node_id is not None and job.rank is not None:
        node_of[job.rank] = job.node_id  # this rank's own node
    for rank, node in node_of.items():
        ranks_of.setdefault(node, []).append(rank)
    # The nodes are what was measured: rank 0's own, and every report that carries a node's
    # record (the assignment said who measures; a report is the proof it was done).
    nodes: list[tuple[str, Run, TimelineData | None, int]] = [
        (job.node_id or mine.host, mine, my_timeline, job.rank or 0)
    ]
    for rank in sorted(reports):
        report = reports[rank]
        if report.run is not None and all(report.node_id != n for n, *_ in nodes):
            nodes.append((report.node_id, report.run, report.timeline, rank))
    measured = {n for n, *_ in nodes}
    missing_nodes = sorted(n for n in measured_by if n not in measured)
    missing_ranks = tuple(r for r in range(job.world_size) if r != job.rank and r not in reports)
    components = tuple(
        replace(c, device=f"{node_id}: {c.device}") for node_id, run, _, _ in nodes
        for c in run.components
    )  # fmt: skip
    energy_kwh = math.fsum(run.energy_kwh for _, run, _, _ in nodes)
    co2s = [run.co2_kg for _, run, _, _ in nodes]
    co2_kg = math.fsum(c for c in co2s if c is not None) if None not in co2s else None
    sources = {run.intensity_source for _, run, _, _ in nodes}
    start_s = parse_iso_utc(mine.started_at).timestamp()
    ends = [parse_iso_utc(run.started_at).timestamp() + run.duration_s for _, run, _, _ in nodes]
    shares = tuple(
        NodeShare(
            node_id,
            run.host,
            run.run_id,
            run.energy_kwh,
            run.co2_kg,
            run.uncertainty_pct,
            tuple(sorted(ranks_of.get(node_id, [rank]))),
            rank,
        )
        for node_id, run, _, rank in nodes
    )
    windows: list[Window] = []
    late_notes: list[str] = []
    for node_id, run, timeline, rank in nodes:
        windows += [replace(w, name=f"rank {rank}: {w.name}") for w in run.windows]
        node_start = parse_iso_utc(run.started_at).timestamp()
        curve: Any = None  # the node's energy curve, built at its first rank window
        node_end = node_start + run.duration_s
        for other in sorted(ranks_of.get(node_id, [])):
            other_report = reports.get(other)
            if other == rank or other_report is None:
                continue
            curve = curve if curve is not None else _curve(timeline)  # once per node
            windows += [_rank_window(w, other, run, curve) for w in other_report.windows]
            outside = []
            for w in other_report.windows:
                a = parse_iso_utc(w.started_at).timestamp()
                if a < node_start - 1.0 or a + w.duration_s > node_end + 1.0:
                    outside.append(w.name)
            if outside:
                late_notes.append(
                    f"rank {other}'s windows {', '.join(outside[:3])} ran partly outside node "
                    f"{node_id}'s measurement (rank {rank} started later or stopped first): "
                    "their energy counts only the measured part"
                )
    warnings = list(dict.fromkeys(w for _, run, _, _ in nodes for w in run.warnings))
    warnings += late_notes
    if len(windows) > MAX_JOB_WINDOWS:
        warnings.append(f"{len(windows) - MAX_JOB_WINDOWS} windows of the job's ranks left out")
        windows = windows[:MAX_JOB_WINDOWS]
    if missing_ranks or missing_nodes:
        warnings.append(
            "partial job record: "
            + (
                f"ranks {', '.join(map(str, missing_ranks))} did not report"
                if missing_ranks
                else ""
            )
            + ("; " if missing_ranks and missing_nodes else "")
            + (f"nodes {', '.join(missing_nodes)} not measured" if missing_nodes else "")
            + " within the timeout (job_timeout_s)"
        )
    overheads = [run.overhead for _, run, _, _ in nodes if run.overhead is not None]
    costs = [run.cost for _, run, _, _ in nodes]
    record = replace(
        mine,
        duration_s=max([*ends, start_s + mine.duration_s]) - start_s,
        energy_kwh=energy_kwh,
        co2_kg=co2_kg,
        intensity_g_per_kwh=(
            co2_kg * 1000 / (energy_kwh * mine.pue)
            if co2_kg is not None and energy_kwh > 0
            else mine.intensity_g_per_kwh
        ),
        intensity_source=mine.intensity_source if len(sources) == 1 else "per node (see nodes)",
        components=components,
        uncertainty_pct=combined_uncertainty_pct(components),
        windows=tuple(windows),
        warnings=tuple(warnings),
        samples=sum(run.samples for _, run, _, _ in nodes),
        items=(
            sum(run.items or 0 for _, run, _, _ in nodes)
            if any(run.items is not None for _, run, _, _ in nodes)
            else None
        ),
        cost=math.fsum(c for c in costs if c is not None) if None not in costs else None,
        overhead=(
            Overhead(
                math.fsum(o.energy_kwh for o in overheads),
                math.fsum(o.cpu_s for o in overheads),
                sum(o.io_bytes for o in overheads),
            )
            if overheads
            else None
        ),
        intensity_bins=(),  # per node, in the nodes' own records
        marginal=None,
        embodied_kgco2e=None,
        prediction=None,
        job=replace(
            job,
            node_id=None,
            nodes=shares,
            missing_ranks=missing_ranks,
            missing_nodes=tuple(missing_nodes),
        ),
    )
    return record, _job_timeline(nodes, start_s, my_timeline)


def _job_timeline(
    nodes: list[tuple[str, Run, TimelineData | None, int]],
    start_s: float,
    base: TimelineData,
) -> TimelineData:
    """Every node's series, on rank 0's instants (``base.t_s``), keyed ``node:device``."""
    out: dict[str, tuple[float, ...]] = {}
    for node_id, run, timeline, _ in nodes:
        if timeline is None:
            continue
        shift = parse_iso_utc(run.started_at).timestamp() - start_s
        for key in timeline.energy_j:
            curve = _curve(timeline, key)
            if curve is not None:
                out[f"{node_id}:{key}"] = tuple(curve.at(t - shift) for t in base.t_s)
    return TimelineData(base.t_s, out)
