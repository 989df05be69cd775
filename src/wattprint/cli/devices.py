"""``wattprint devices``: every sensor, its method and provenance, and what is missing here."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wattprint.sensors.discovery import HardwareOptions, discover


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("devices", help="list what can be measured here, and how")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def devices(args: argparse.Namespace) -> int:
    from wattprint.settings import resolve

    found = discover(HardwareOptions().with_settings(resolve()))
    sensors = [s.info for s in found.sensors]
    if args.json:
        doc: dict[str, Any] = {
            "cpu": {
                "model_name": found.cpu.model_name,
                "vendor": found.cpu.vendor,
                "sockets": found.cpu.sockets,
                "logical_cpus": found.cpu.logical_cpus,
                "virtualised": found.cpu.virtualised,
                "capacity_cpus": found.capacity_cpus,
                "cgroup_quota_cpus": found.cgroup.quota_cpus,
            },
            "sensors": [
                {
                    "component": str(i.component),
                    "device": i.device,
                    "method": i.method,
                    "provenance": str(i.provenance),
                    "uncertainty_pct": i.uncertainty_pct,
                    "notes": list(i.notes),
                    "details": i.details,
                }
                for i in sensors
            ],
            "unavailable": [
                {"component": str(u.component), "method": u.method, "reason": u.reason}
                for u in found.unavailable
            ],
            "warnings": found.warnings,
        }
        print(json.dumps(doc, indent=2))
        return 0
    cpu = found.cpu
    quota = found.cgroup.quota_cpus
    print(
        f"CPU: {cpu.model_name} ({cpu.vendor}, {cpu.sockets} socket(s), {cpu.logical_cpus} "
        f"logical CPUs{', virtual machine' if cpu.virtualised else ''}"
        f"{f', cgroup quota {quota:g} CPUs' if quota else ''})"
    )
    print("\nMeasured here:")
    for i in sensors:
        print(
            f"  {i.component!s:8} {i.device:28} {i.method:24} {i.provenance!s:10} "
            f"±{i.uncertainty_pct:g} %"
        )
        if "tdp_w" in i.details:
            d = i.details
            tdp = f"TDP {d['tdp_w']:g} W per package" if d.get("tdp_w") else "TDP unknown"
            matched = f"matched {d['matched_name']!r}" if d.get("matched_name") else "unmatched"
            print(
                f"  {'':8} {matched}, {tdp}; model: {d['idle_power_w']:.3g}-"
                f"{d['max_power_w']:.3g} W over {d['capacity_cpus']:g} CPUs"
            )
        for note in i.notes:
            print(f"  {'':8} note: {note}")
    if found.unavailable:
        print("\nNot available here:")
        for u in found.unavailable:
            print(f"  {u.component!s:8} {u.method}: {u.reason}")
    return 0
