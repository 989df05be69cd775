"""parse_cpuinfo on /proc/cpuinfo texts as the kernel prints them (arch/x86/kernel/cpu/proc.c,
arch/arm64/kernel/cpuinfo.c): one block per logical CPU, ``key\\t: value`` lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import FakeProc
from wattprint.sensors.cpuinfo import CpuInfo, parse_cpuinfo, read_cpuinfo

X86_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi "
    "mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon"
)


def _x86_block(
    processor: int,
    *,
    vendor_id: str,
    model_name: str,
    physical_id: int,
    core_id: int,
    siblings: int,
    cores: int,
    flags: str,
) -> str:
    return (
        f"processor\t: {processor}\n"
        f"vendor_id\t: {vendor_id}\n"
        "cpu family\t: 6\n"
        "model\t\t: 85\n"
        f"model name\t: {model_name}\n"
        "stepping\t: 7\n"
        "microcode\t: 0x5003604\n"
        "cpu MHz\t\t: 2500.000\n"
        "cache size\t: 28160 KB\n"
        f"physical id\t: {physical_id}\n"
        f"siblings\t: {siblings}\n"
        f"core id\t\t: {core_id}\n"
        f"cpu cores\t: {cores}\n"
        f"apicid\t\t: {2 * core_id}\n"
        "fpu\t\t: yes\n"
        "cpuid level\t: 22\n"
        "wp\t\t: yes\n"
        f"flags\t\t: {flags}\n"
        "bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs taa itlb_multihit\n"
        "bogomips\t: 5000.00\n"
        "clflush size\t: 64\n"
        "address sizes\t: 46 bits physical, 48 bits virtual\n"
        "power management:\n\n"
    )


def _x86(
    sockets: int,
    threads_per_socket: int,
    *,
    vendor_id: str = "GenuineIntel",
    model_name: str = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
    flags: str = X86_FLAGS,
) -> str:
    blocks = []
    n = 0
    for socket in range(sockets):
        for thread in range(threads_per_socket):
            blocks.append(
                _x86_block(
                    n,
                    vendor_id=vendor_id,
                    model_name=model_name,
                    physical_id=socket,
                    core_id=thread // 2,
                    siblings=threads_per_socket,
                    cores=threads_per_socket // 2,
                    flags=flags,
                )
            )
            n += 1
    return "".join(blocks)


AARCH64 = "".join(
    f"processor\t: {i}\n"
    "BogoMIPS\t: 243.75\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
    "asimdrdm lrcpc dcpop asimddp ssbs\n"
    "CPU implementer\t: 0x41\n"
    "CPU architecture: 8\n"
    "CPU variant\t: 0x3\n"
    "CPU part\t: 0xd0c\n"
    "CPU revision\t: 1\n\n"
    for i in range(4)
)


def test_intel_two_sockets_bare_metal() -> None:
    info = parse_cpuinfo(_x86(2, 4))
    assert info == CpuInfo(
        model_name="Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
        vendor="intel",
        sockets=2,
        logical_cpus=8,
        virtualised=False,
    )


def test_hypervisor_flag_means_virtualised() -> None:
    info = parse_cpuinfo(_x86(1, 2, flags=X86_FLAGS + " hypervisor lahf_lm abm"))
    assert info.virtualised is True
    assert info.sockets == 1
    assert info.logical_cpus == 2


def test_hypervisor_must_be_a_whole_flag() -> None:
    assert parse_cpuinfo(_x86(1, 2, flags=X86_FLAGS + " hypervisorx")).virtualised is False


def test_amd_vendor() -> None:
    info = parse_cpuinfo(
        _x86(
            1,
            4,
            vendor_id="AuthenticAMD",
            model_name="AMD EPYC 7763 64-Core Processor",
            flags=X86_FLAGS + " hypervisor",
        )
    )
    assert info.vendor == "amd"
    assert info.model_name == "AMD EPYC 7763 64-Core Processor"
    assert info.virtualised is True


def test_aarch64_without_model_name() -> None:
    info = parse_cpuinfo(AARCH64)
    assert info.model_name == "unknown"
    assert info.vendor in ("arm", "unknown")
    assert info.logical_cpus == 4
    assert info.sockets == 1
    assert info.virtualised is False


def test_empty_text() -> None:
    info = parse_cpuinfo("")
    assert info.model_name == "unknown"
    assert info.vendor == "unknown"
    assert info.sockets == 1
    assert info.logical_cpus == (os.cpu_count() or 1)
    assert info.virtualised is False


def test_read_cpuinfo_from_a_fake_proc(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc", cpus=3, model_name="Intel(R) Core(TM) i7-8700K CPU")
    info = read_cpuinfo(proc.root)
    assert (info.model_name, info.vendor, info.logical_cpus) == (
        "Intel(R) Core(TM) i7-8700K CPU",
        "intel",
        3,
    )


def test_read_cpuinfo_without_procfs_falls_back(tmp_path: Path) -> None:
    info = read_cpuinfo(tmp_path / "no-proc")
    assert info.model_name
    assert info.logical_cpus == (os.cpu_count() or 1)
    assert info.sockets == 1


@given(st.text(max_size=500))
def test_parse_never_raises(text: str) -> None:
    info = parse_cpuinfo(text)
    assert info.sockets >= 1
    assert info.logical_cpus >= 1
    assert info.vendor in ("intel", "amd", "arm", "apple", "unknown")


@pytest.mark.parametrize(
    ("vendor_id", "model", "expected"),
    [
        ("GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "intel"),
        ("AuthenticAMD", "AMD Ryzen 9 5950X 16-Core Processor", "amd"),
        ("", "ARMv7 Processor rev 4 (v7l)", "arm"),
        ("", "Apple M2", "apple"),
        ("", "", "unknown"),
    ],
)
def test_vendor(vendor_id: str, model: str, expected: str) -> None:
    text = f"processor\t: 0\nvendor_id\t: {vendor_id}\nmodel name\t: {model}\n\n"
    assert parse_cpuinfo(text).vendor == expected
