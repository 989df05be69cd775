"""What CPU this is, from /proc/cpuinfo (Linux) or the platform module elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuInfo:
    model_name: str  # as the OS reports it, e.g. "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
    vendor: str  # "intel", "amd", "arm", "apple" or "unknown"
    sockets: int  # physical packages
    logical_cpus: int  # threads the OS schedules on (the host's, not the container's allotment)
    virtualised: bool  # the "hypervisor" CPUID flag: a VM's vCPUs are slices of a host CPU


def _vendor(vendor_id: str, model_name: str) -> str:
    text = f"{vendor_id} {model_name}".lower()
    if "intel" in text:
        return "intel"
    if "amd" in text:
        return "amd"
    if "apple" in text:
        return "apple"
    if "arm" in text or "aarch64" in text:
        return "arm"
    return "unknown"


def parse_cpuinfo(text: str) -> CpuInfo:
    model = vendor_id = ""
    packages: set[str] = set()
    logical = 0
    virtualised = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            logical += 1
        elif key == "model name" and not model:
            model = value
        elif key == "vendor_id" and not vendor_id:
            vendor_id = value
        elif key == "CPU implementer" and not vendor_id:  # arm64: no vendor_id, no model name
            vendor_id = "apple" if value.lower() == "0x61" else "arm"
        elif key == "physical id":
            packages.add(value)
        elif key == "flags" and not virtualised:
            virtualised = "hypervisor" in value.split()
    return CpuInfo(
        model_name=model or "unknown",
        vendor=_vendor(vendor_id, model),
        sockets=max(1, len(packages)),
        logical_cpus=max(1, logical or (os.cpu_count() or 1)),
        virtualised=virtualised,
    )


def read_cpuinfo(proc_dir: Path = Path("/proc")) -> CpuInfo:
    try:
        return parse_cpuinfo((proc_dir / "cpuinfo").read_text(errors="replace"))
    except OSError:
        import platform

        name = platform.processor() or platform.machine() or "unknown"
        return CpuInfo(name, _vendor("", name), 1, os.cpu_count() or 1, False)
