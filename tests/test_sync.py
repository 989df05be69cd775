"""Framework sync at window edges, with framework stand-ins that record calls (the real
torch/jax/cupy are not installed in CI; these copy the attributes wattprint touches)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import wattprint
from tests.fakes import FakeClock, intel_two_socket
from wattprint import sync
from wattprint.sensors.discovery import HardwareOptions


def fake_torch(initialized: bool, calls: list[str]) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: True,
        is_initialized=lambda: initialized,
        synchronize=lambda: calls.append("torch"),
    )
    return torch


def test_only_imported_frameworks_with_a_gpu_context_are_synchronised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "torch", fake_torch(False, calls))
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    assert sync.synchronize() == [] and calls == []  # no CUDA context: none is created
    monkeypatch.setitem(sys.modules, "torch", fake_torch(True, calls))
    assert sync.synchronize() == ["torch"] and calls == ["torch"]


def test_a_failing_framework_does_not_break_the_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: True, is_initialized=lambda: True, synchronize=boom
    )
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert sync.synchronize() == []


def test_window_edges_synchronise_unless_off(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "torch", fake_torch(True, calls))
    pc = intel_two_socket(tmp_path / "sys")
    hw = HardwareOptions(powercap_dir=pc.class_dir, storage=False)
    tracker = wattprint.Tracker(
        scope="machine", hardware=hw, clock=clock, background=False, db=False
    ).start()
    tracker.begin_window("w")
    tracker.end_window("w")
    tracker.stop()
    assert calls == ["torch"] * 3  # begin, end, stop
    calls.clear()
    off = wattprint.Tracker(
        scope="machine", hardware=hw, clock=clock, background=False, db=False, sync="off"
    ).start()
    off.begin_window("w")
    off.end_window("w")
    off.stop()
    assert calls == []
