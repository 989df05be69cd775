"""CPU energy shared among cgroups: proportional, bounded in labels, monotonic.

The fake tree copies cgroup v2's layout (Documentation/admin-guide/cgroup-v2.rst): the root
has ``cgroup.controllers`` and ``cpu.stat``; every cgroup directory has a ``cpu.stat`` whose
``usage_usec`` counts its processes' CPU time, its descendants' included."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.monitor.cgroups import OTHER, CgroupEnergy


class FakeCgroupTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        self.usage_us: dict[str, int] = {}
        self.machine_us = 0
        self._write()

    def burn(self, unit: str, seconds: float, *, parent_too: bool = True) -> None:
        """``unit`` (a path below the root) uses ``seconds`` of CPU."""
        us = round(seconds * 1e6)
        self.usage_us[unit] = self.usage_us.get(unit, 0) + us
        parent = unit.split("/")[0]
        if parent_too and parent != unit:
            self.usage_us[parent] = self.usage_us.get(parent, 0) + us
        self.machine_us += us
        self._write()

    def idle_root_work(self, seconds: float) -> None:
        """CPU time of processes in the root cgroup itself (kernel threads): the machine's."""
        self.machine_us += round(seconds * 1e6)
        self._write()

    def remove(self, unit: str) -> None:
        path = self.root / unit
        (path / "cpu.stat").unlink()
        path.rmdir()
        del self.usage_us[unit]

    def _write(self) -> None:
        (self.root / "cpu.stat").write_text(f"usage_usec {self.machine_us}\nuser_usec 0\n")
        for unit, us in self.usage_us.items():
            (self.root / unit).mkdir(parents=True, exist_ok=True)
            (self.root / unit / "cpu.stat").write_text(
                f"usage_usec {us}\nuser_usec {us}\nsystem_usec 0\n"
            )


@pytest.fixture
def tree(tmp_path: Path) -> FakeCgroupTree:
    return FakeCgroupTree(tmp_path / "cgroup")


def started(tree: FakeCgroupTree, units: list[str], top: int) -> CgroupEnergy:
    """Attribution over ``units`` (made, idle), with its zero taken."""
    for unit in units:
        tree.burn(unit, 0)
    cg = CgroupEnergy.open(tree.root, top=top)
    assert cg is not None
    cg.add(0.0)
    return cg


def test_energy_is_shared_by_cpu_time_of_the_leaves(tree: FakeCgroupTree) -> None:
    units = ["system.slice/docker-a.scope", "user.slice/user-1000.slice", "init.scope"]
    cg = started(tree, units, top=10)
    tree.burn("system.slice/docker-a.scope", 3.0)
    tree.burn("user.slice/user-1000.slice", 1.0)
    tree.idle_root_work(1.0)  # the root's own: counted in the machine's time, no unit's
    cg.add(100.0)
    totals = cg.totals()
    assert totals["system.slice/docker-a.scope"] == pytest.approx(60.0)
    assert totals["user.slice/user-1000.slice"] == pytest.approx(20.0)
    assert "system.slice" not in totals  # the parent is not counted on top of its children
    assert "init.scope" not in totals  # idle: not given one of the few labels
    assert totals[OTHER] == 0.0
    assert sum(totals.values()) <= 100.0


def test_labels_are_bounded_and_every_counter_only_grows(tree: FakeCgroupTree) -> None:
    units = [f"system.slice/job-{i}.scope" for i in range(6)]
    cg = started(tree, units, top=2)
    history: list[dict[str, float]] = []
    for step in range(6):
        busy = units[step]  # a different unit is the busiest each interval
        tree.burn(busy, 2.0)
        tree.burn(units[(step + 1) % 6], 1.0)
        cg.add(30.0)
        history.append(cg.totals())
    labels = set().union(*history)
    assert len(labels) == 3 and OTHER in labels  # two admitted units and the rest
    assert set(history[0]) == set(history[-1])  # admitted once, never dropped
    for before, after in itertools.pairwise(history):
        for label, joules in before.items():
            assert after[label] >= joules
    assert sum(history[-1].values()) == pytest.approx(6 * 30.0)


def test_a_unit_that_goes_away_keeps_its_total(tree: FakeCgroupTree) -> None:
    cg = started(tree, ["system.slice/a.scope", "system.slice/b.scope"], top=5)
    tree.burn("system.slice/a.scope", 1.0)
    tree.burn("system.slice/b.scope", 1.0)
    cg.add(10.0)
    tree.remove("system.slice/a.scope")
    tree.burn("system.slice/b.scope", 1.0)
    cg.add(10.0)
    assert cg.totals()["system.slice/a.scope"] == pytest.approx(5.0)
    assert cg.totals()["system.slice/b.scope"] == pytest.approx(15.0)


def test_no_cgroup_v2_means_no_attribution(tmp_path: Path) -> None:
    (tmp_path / "v1" / "cpu").mkdir(parents=True)  # a v1 mount has no cgroup.controllers
    assert CgroupEnergy.open(tmp_path / "v1", top=3) is None
    assert CgroupEnergy.open(tmp_path / "missing", top=3) is None


INTERVAL = st.tuples(
    st.dictionaries(st.integers(0, 7), st.floats(0, 5), max_size=8),  # unit -> CPU s used
    st.floats(0, 2),  # the root cgroup's own CPU time (kernel threads)
    st.floats(0, 500),  # the CPU's energy in the interval
)


@settings(max_examples=40, deadline=None)
@given(top=st.integers(0, 4), intervals=st.lists(INTERVAL, max_size=8))
def test_any_history_keeps_labels_bounded_counters_monotonic_and_energy_conserved(
    top: int, intervals: list[tuple[dict[int, float], float, float]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree = FakeCgroupTree(Path(tmp) / "cgroup")
        units = [f"{'system' if i % 2 else 'user'}.slice/u{i}.scope" for i in range(8)]
        cg = started(tree, units, top=top)
        before = cg.totals()
        given_j = 0.0
        for used, root_s, energy_j in intervals:
            for i, seconds in used.items():
                tree.burn(units[i], seconds)
            tree.idle_root_work(root_s)
            cg.add(energy_j)
            given_j += energy_j
            after = cg.totals()
            assert len(after) <= top + 1 and OTHER in after
            assert all(after[label] >= joules for label, joules in before.items())
            assert sum(after.values()) <= given_j * (1 + 1e-9) + 1e-9
            before = after
