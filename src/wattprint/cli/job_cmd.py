"""``wattprint job JOB_ID``: a multi-node job's total from the store — the job's record where
rank 0 wrote one, else the sum of its nodes' records (SLURM without torch.distributed)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("job", help="a multi-node job's total and its nodes, from the store")
    p.add_argument("job_id", metavar="JOB_ID", help="SLURM_JOB_ID, torchrun's run id, or job_id")
    p.add_argument(
        "--db", metavar="STORE", help="run store: a file or a postgresql:// URL (opened read-only)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def job_total(runs: list[Any]) -> dict[str, Any]:
    """The job from all its records: every job record (one per tracking session: rank 0's),
    plus every node record no job record counts (SLURM steps without torch.distributed, a
    requeued node's earlier record). Each record once; sums with ``math.fsum``."""
    import math

    counted = {n.run_id for r in runs if r.job is not None for n in r.job.nodes}
    parts = [r for r in runs if r.job is not None and (r.job.nodes or r.run_id not in counted)]
    nodes = []
    missing: list[str] = []
    for r in parts:
        if r.job.nodes:
            nodes += [
                {"node_id": n.node_id, "host": n.host, "run_id": n.run_id,
                 "energy_kwh": n.energy_kwh, "co2_kg": n.co2_kg, "status": r.status,
                 "record": r.run_id}
                for n in r.job.nodes
            ]  # fmt: skip
            missing += [f"rank {x} (record {r.run_id[:12]})" for x in r.job.missing_ranks]
            missing += [f"node {x} (record {r.run_id[:12]})" for x in r.job.missing_nodes]
            if r.job.expected_nodes and len(r.job.nodes) < r.job.expected_nodes:
                missing.append(
                    f"{r.job.expected_nodes - len(r.job.nodes)} of {r.job.expected_nodes} nodes "
                    f"not in record {r.run_id[:12]}"
                )
        else:
            nodes.append(
                {"node_id": r.job.node_id or "?", "host": r.host, "run_id": r.run_id,
                 "energy_kwh": r.energy_kwh, "co2_kg": r.co2_kg, "status": r.status,
                 "record": r.run_id}
            )  # fmt: skip
            if r.status in ("running", "interrupted"):
                missing.append(f"node {r.job.node_id} {r.status} (record {r.run_id[:12]})")
    lone = [r for r in parts if not r.job.nodes]
    expected = next((r.job.expected_nodes for r in lone if r.job.expected_nodes), None)
    seen = {r.job.node_id for r in lone}
    if lone and expected and len(seen) < expected:
        missing.append(f"{expected - len(seen)} of {expected} nodes have no record")
    nodes.sort(key=lambda n: (str(n["node_id"]), str(n["run_id"])))  # a stable listing
    co2 = [p.co2_kg for p in parts]
    return {
        "job_id": parts[0].job.job_id if parts else None,
        "records": len(parts),
        "energy_kwh": math.fsum(p.energy_kwh for p in parts),
        "co2_kg": math.fsum(c for c in co2 if c is not None) if None not in co2 else None,
        "nodes": nodes,
        "missing": missing,
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
        f"{len(total['nodes'])} node entries from {total['records']} records"
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
