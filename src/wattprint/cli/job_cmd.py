"""``wattprint job JOB_ID``: a multi-node job's total from the store — the job's record where
rank 0 wrote one, else the sum of its nodes' records (SLURM without torch.distributed)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("job", help="a multi-node job's total and its nodes, from the store")
    p.add_argument("job_id", metavar="JOB_ID", help="SLURM_JOB_ID, torchrun's run id, or job_id")
    p.add_argument("--db", metavar="PATH", help="run store (opened read-only)")
    p.add_argument("--json", action="store_true", help="print JSON")


def job_total(runs: list[Any]) -> dict[str, Any]:
    """The job from its records: a job record (latest) wins; else the latest record of each
    node, summed with ``math.fsum`` in node order."""
    import math

    jobs = [r for r in runs if r.job is not None and r.job.nodes]
    if jobs:
        j = jobs[-1]
        nodes = [
            {"node_id": n.node_id, "host": n.host, "run_id": n.run_id,
             "energy_kwh": n.energy_kwh, "co2_kg": n.co2_kg, "status": j.status}
            for n in j.job.nodes
        ]  # fmt: skip
        return {
            "job_id": j.job.job_id, "source": "job record", "run_id": j.run_id,
            "energy_kwh": j.energy_kwh, "co2_kg": j.co2_kg, "nodes": nodes,
            "expected_nodes": j.job.expected_nodes,
            "missing": [*(f"rank {r}" for r in j.job.missing_ranks),
                        *(f"node {n}" for n in j.job.missing_nodes)],
        }  # fmt: skip
    latest: dict[str, Any] = {}
    for r in runs:
        if r.job is not None and r.job.node_id is not None:
            latest[r.job.node_id] = r
    order = sorted(latest)
    co2 = [latest[n].co2_kg for n in order]
    expected = next((r.job.expected_nodes for r in runs if r.job and r.job.expected_nodes), None)
    missing = (
        [f"{expected - len(order)} of {expected} nodes have no record"]
        if expected and len(order) < expected
        else []
    )
    return {
        "job_id": runs[0].job.job_id if runs and runs[0].job else None,
        "source": "node records",
        "run_id": None,
        "energy_kwh": math.fsum(latest[n].energy_kwh for n in order),
        "co2_kg": math.fsum(c for c in co2 if c is not None) if None not in co2 else None,
        "nodes": [
            {
                "node_id": n,
                "host": latest[n].host,
                "run_id": latest[n].run_id,
                "energy_kwh": latest[n].energy_kwh,
                "co2_kg": latest[n].co2_kg,
                "status": latest[n].status,
            }
            for n in order
        ],
        "expected_nodes": expected,
        "missing": missing
        + [
            f"node {n} {latest[n].status}"
            for n in order
            if latest[n].status in ("running", "interrupted")
        ],
    }


def job(args: argparse.Namespace) -> int:
    import json

    from wattprint.cli.format import energy, mass, text
    from wattprint.errors import UsageError
    from wattprint.records.reader import StoreReader
    from wattprint.records.store_db import default_db_path

    with StoreReader(args.db or default_db_path()) as reader:
        runs = reader.job_runs(args.job_id)
    if not runs:
        raise UsageError(
            f"no run of job {args.job_id!r} in the store; `wattprint runs` lists what is there"
        )
    total = job_total(runs)
    if args.json:
        print(json.dumps(total, indent=2))
        return 0
    co2 = mass(total["co2_kg"]) + " CO2e" if total["co2_kg"] is not None else "no CO2 (no zone)"
    print(
        f"job {text(args.job_id)}: {energy(total['energy_kwh'])}, {co2}, "
        f"{len(total['nodes'])} nodes (from its {total['source']})"
    )
    for n in total["nodes"]:
        c = mass(n["co2_kg"]) if n["co2_kg"] is not None else "-"
        print(
            f"  {text(n['node_id'])[:20]:20} {text(n['host'])[:20]:20} {n['run_id'][:12]:12} "
            f"{energy(n['energy_kwh']):>10} {c:>10}"
        )
    for m in total["missing"]:
        print(f"  missing: {text(m)}")
    return 0
