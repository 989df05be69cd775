"""ProcFS against fake ``/proc`` trees laid out like the kernel's (proc(5)).

Besides :class:`tests.fakes.FakeProc`, some tests build small trees by hand to reach layouts
FakeProc does not make: a child forked by a non-main thread (the kernel lists it in that
thread's ``task/<tid>/children`` only), and a kernel without CONFIG_PROC_CHILDREN (``task/<tid>``
directories exist but hold no ``children`` file).

The descriptor cache is observed at the syscall boundary (``os.open``/``os.close`` spies), not
through private attributes, so the tests hold whatever the cache's internals look like.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeProc
from wattprint.sensors.procfs import CLOCK_TICKS_PER_S, PAGE_SIZE_B, ProcFS
from wattprint.sensors.usage import UsageProbe


def _stat_line(
    pid: int,
    ppid: int,
    *,
    comm: str = "python3",
    utime: int = 0,
    stime: int = 0,
    cutime: int = 0,
    cstime: int = 0,
    rss_pages: int = 0,
) -> str:
    """A /proc/<pid>/stat line with all 52 fields of a modern kernel (fs/proc/array.c).

    Every field other than the ones under test holds a distinct, large value, so a reader that
    picks the wrong index gets a visibly wrong total.
    """
    head = f"{pid} ({comm}) S {ppid} {pid} {pid} 34816 {pid} 4194304 1001 2002 3003 4004"
    times = f"{utime} {stime} {cutime} {cstime}"
    tail = (
        f"20 0 3 0 123456 987654321 {rss_pages} 18446744073709551615 1 1 0 0 0 0 0 4096 "
        "17 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
    )
    return f"{head} {times} {tail}\n"


def _add_process(
    proc: Path,
    pid: int,
    ppid: int,
    *,
    threads: dict[int, list[int]] | None = None,
    children_files: bool = True,
    **stat: int | str,
) -> None:
    """Lay out /proc/<pid>/stat and /proc/<pid>/task/<tid>/[children] like the kernel.

    ``threads`` maps each tid to the children that thread forked; the kernel lists a child in
    the ``children`` file of the thread that created it, not in the main thread's.
    """
    d = proc / str(pid)
    d.mkdir(parents=True)
    (d / "stat").write_text(_stat_line(pid, ppid, **stat))  # type: ignore[arg-type]
    for tid, kids in (threads or {pid: []}).items():
        t = d / "task" / str(tid)
        t.mkdir(parents=True)
        if children_files:
            (t / "children").write_text("".join(f"{k} " for k in kids))


@pytest.fixture
def open_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths passed to os.open, in order."""
    calls: list[str] = []
    real_open = os.open

    def spy(path: str | bytes | os.PathLike[str], flags: int, *args: int, **kw: object) -> int:
        calls.append(os.fspath(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    yield calls


@pytest.fixture
def close_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """File descriptors passed to os.close, in order."""
    calls: list[int] = []
    real_close: Callable[[int], None] = os.close

    def spy(fd: int) -> None:
        calls.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "close", spy)
    yield calls


# -- machine counters ------------------------------------------------------------------------
def test_machine_busy_counts_user_nice_system_irq_softirq_only(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    # cpu  user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ ticks)
    (proc / "stat").write_text(
        "cpu  1000 20 300 90000 7000 4 5 60000 800 9\ncpu0 1000 20 300 90000 7000 4 5 60000 0 0\n"
    )
    busy = ProcFS(proc).machine_busy_cpu_s()
    assert busy == pytest.approx((1000 + 20 + 300 + 4 + 5) / CLOCK_TICKS_PER_S)


def test_machine_busy_follows_fake_proc(fake_proc: FakeProc) -> None:
    fs = ProcFS(fake_proc.root)
    before = fs.machine_busy_cpu_s()
    fake_proc.run_for(3.0, busy_cpus=1.5)
    after = fs.machine_busy_cpu_s()
    assert before == 0.0
    assert after == pytest.approx(4.5)


@pytest.mark.parametrize("text", ["", "intr 0\n", "cpu  1 2\n", "cpu  a b c d e f g h\n"])
def test_machine_busy_unreadable_is_none(tmp_path: Path, text: str) -> None:
    (tmp_path / "stat").write_text(text)
    assert ProcFS(tmp_path).machine_busy_cpu_s() is None
    assert ProcFS(tmp_path / "missing").machine_busy_cpu_s() is None


def test_mem_used_is_total_minus_available(fake_proc: FakeProc) -> None:
    fake_proc.mem_total_kb, fake_proc.mem_available_kb = 8_000_000, 3_000_000
    fake_proc.write()
    fs = ProcFS(fake_proc.root)
    assert fs.machine_mem_used_b() == 5_000_000 * 1024
    assert fs.machine_mem_total_b() == 8_000_000 * 1024


def test_mem_used_without_memavailable_is_none(tmp_path: Path) -> None:
    # Kernels before 3.14 print no MemAvailable: "used" cannot be the kernel's estimate.
    (tmp_path / "meminfo").write_text("MemTotal:  1000 kB\nMemFree:  200 kB\n")
    assert ProcFS(tmp_path).machine_mem_used_b() is None


# -- the process tree ------------------------------------------------------------------------
def test_tree_walks_children_files(fake_proc: FakeProc) -> None:
    fake_proc.add_process(10, 1)
    fake_proc.add_process(11, 10)
    fake_proc.add_process(12, 11)
    fake_proc.add_process(13, 10)
    fake_proc.add_process(20, 1)  # not ours
    assert sorted(ProcFS(fake_proc.root).tree(10)) == [10, 11, 12, 13]
    assert ProcFS(fake_proc.root).tree(12) == [12]


def test_tree_finds_children_of_a_non_main_thread(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    # 100 has two threads; thread 101 forked 200, which forked 300. 999 is unrelated.
    _add_process(proc, 100, 1, threads={100: [], 101: [200]})
    _add_process(proc, 200, 100, threads={200: [300]})
    _add_process(proc, 300, 200)
    _add_process(proc, 999, 1)
    fs = ProcFS(proc)
    assert fs.tree(100)[0] == 100
    assert sorted(fs.tree(100)) == [100, 200, 300]


def test_quick_walk_keeps_children_of_a_non_main_thread(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _add_process(proc, 100, 1, threads={100: [], 101: [200]}, utime=100)
    _add_process(proc, 200, 100, threads={200: [300]}, utime=500)
    _add_process(proc, 300, 200, utime=50)
    fs = ProcFS(proc)
    full = fs.tree(100)
    assert sorted(full) == [100, 200, 300]
    assert sorted(fs.tree(100, known=full)) == [100, 200, 300]


def test_probe_process_cpu_never_falls_while_the_tree_lives(tmp_path: Path) -> None:
    """Between full reads the tree's CPU counter must not go back while no process exits: the
    meter would bill 0 for those ticks, then the child's whole lifetime at the next full read."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text("cpu  0 0 0 0 0 0 0 0 0 0\n")
    (proc / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 500 kB\n")
    _add_process(proc, 100, 1, threads={100: [], 101: [200]}, utime=100)
    _add_process(proc, 200, 100, utime=500)
    probe = UsageProbe(100, proc_dir=proc)
    readings = [
        probe.read(float(t), full=full).process_cpu_s
        for t, full in enumerate((True, False, False, True, False))
    ]
    assert readings == [pytest.approx(600 / CLOCK_TICKS_PER_S)] * 5


def test_tree_without_children_files_scans_ppid(tmp_path: Path) -> None:
    """A kernel without CONFIG_PROC_CHILDREN: task/<tid>/ exists, task/<tid>/children not."""
    proc = tmp_path / "proc"
    _add_process(proc, 100, 1, children_files=False, threads={100: [], 101: []})
    _add_process(proc, 200, 100, children_files=False)
    _add_process(proc, 300, 200, children_files=False)
    _add_process(proc, 400, 100, children_files=False, comm="a (b) c")
    # Its comm looks like "... S 100 ..." to a parser that splits at the first ')'.
    _add_process(proc, 555, 1, children_files=False, comm="x) S 100 (y")
    _add_process(proc, 999, 1, children_files=False)
    (proc / "self").mkdir()  # non-numeric entries of /proc are skipped
    assert sorted(ProcFS(proc).tree(100)) == [100, 200, 300, 400]


def test_tree_tolerates_a_listed_child_that_is_gone(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _add_process(proc, 100, 1, threads={100: [200]})  # 200 exited after the kernel listed it
    fs = ProcFS(proc)
    pids = fs.tree(100)
    assert sorted(pids) == [100, 200]
    assert fs.tree_cpu_and_rss(pids) == (0.0, 0)


# -- CPU time and RSS ------------------------------------------------------------------------
def test_cpu_and_rss_parse_comm_with_spaces_and_parens(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _add_process(
        proc,
        4242,
        1,
        comm="my (weird) ) proc",
        utime=11,
        stime=22,
        cutime=33,
        cstime=44,
        rss_pages=55,
    )
    cpu_s, rss_b = ProcFS(proc).tree_cpu_and_rss([4242])
    assert cpu_s == pytest.approx((11 + 22 + 33 + 44) / CLOCK_TICKS_PER_S)
    assert rss_b == 55 * PAGE_SIZE_B


def test_cpu_includes_reaped_children(fake_proc: FakeProc) -> None:
    fake_proc.add_process(10, 1, rss_pages=100)
    fake_proc.add_process(11, 10, rss_pages=50)
    fake_proc.run_for(2.0, busy_cpus=2.0, proc_cpus={10: 0.5, 11: 1.0})
    fs = ProcFS(fake_proc.root)
    cpu_s, rss_b = fs.tree_cpu_and_rss(fs.tree(10))
    assert cpu_s == pytest.approx(3.0)
    assert rss_b == 150 * PAGE_SIZE_B
    fake_proc.remove_process(11)  # 10 reaps 11: its 2 s move into 10's cutime/cstime
    cpu_s, rss_b = fs.tree_cpu_and_rss(fs.tree(10))
    assert cpu_s == pytest.approx(3.0)
    assert rss_b == 100 * PAGE_SIZE_B


def test_process_gone_before_first_read_is_skipped(fake_proc: FakeProc) -> None:
    fake_proc.add_process(10, 1, rss_pages=7)
    fake_proc.run_for(1.0, busy_cpus=1.0, proc_cpus={10: 1.0})
    cpu_s, rss_b = ProcFS(fake_proc.root).tree_cpu_and_rss([10, 4_000_000])
    assert cpu_s == pytest.approx(1.0)
    assert rss_b == 7 * PAGE_SIZE_B


def test_process_gone_between_calls_is_skipped(fake_proc: FakeProc) -> None:
    """The order a probe uses: walk, read, (child exits), walk, forget the gone, read."""
    fake_proc.add_process(10, 1)
    fake_proc.add_process(11, 10, rss_pages=9)
    fs = ProcFS(fake_proc.root)
    pids = fs.tree(10)
    fs.tree_cpu_and_rss(pids)
    fake_proc.remove_process(11)
    # The stale list still names 11: reading it must not raise.
    fs.tree_cpu_and_rss(pids)
    pids = fs.tree(10)
    fs.forget_except(pids)
    assert pids == [10]
    assert fs.tree_cpu_and_rss([10, 11]) == (0.0, 0)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs a Linux procfs")
def test_real_process_exit_with_open_descriptor_is_skipped() -> None:
    """The real kernel: a cached /proc/<pid>/stat descriptor fails with ESRCH once the process
    is reaped (no fake can copy that: a deleted regular file stays readable)."""
    child = subprocess.Popen(
        [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"up\n"  # started: its RSS is counted by now
        fs = ProcFS(Path("/proc"))
        _, rss_b = fs.tree_cpu_and_rss([child.pid])
        assert rss_b > 0
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert fs.tree_cpu_and_rss([child.pid]) == (0.0, 0)
    assert fs.tree_io_b([child.pid]) is None
    fs.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(garbage=st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_cpu_and_rss_never_raise_on_garbage(tmp_path: Path, garbage: bytes) -> None:
    proc = tmp_path / "proc"
    if not (proc / "1").exists():
        _add_process(proc, 1, 0, utime=10, stime=20, rss_pages=3)
        (proc / "2").mkdir()
    (proc / "2" / "stat").write_bytes(garbage)
    cpu_s, rss_b = ProcFS(proc).tree_cpu_and_rss([1, 2])
    assert isinstance(cpu_s, float)
    assert isinstance(rss_b, int)
    # Fewer than 22 fields cannot hold utime..rss: the garbage then contributes nothing.
    if len(garbage.decode("ascii", "replace").split()) < 22:
        assert cpu_s == pytest.approx(30 / CLOCK_TICKS_PER_S)
        assert rss_b == 3 * PAGE_SIZE_B


# -- the descriptor cache --------------------------------------------------------------------
def test_files_stay_open_and_content_rewritten_in_place_is_reread(
    fake_proc: FakeProc, open_calls: list[str]
) -> None:
    fake_proc.add_process(10, 1)
    fs = ProcFS(fake_proc.root)
    stat = f"{fake_proc.root}/stat"
    pid_stat = f"{fake_proc.root}/10/stat"
    readings = []
    for _ in range(3):
        fake_proc.run_for(1.0, busy_cpus=2.0, proc_cpus={10: 1.0})  # rewrites the same inodes
        readings.append((fs.machine_busy_cpu_s(), fs.tree_cpu_and_rss([10])[0]))
    assert readings == [(2.0, 1.0), (4.0, 2.0), (6.0, 3.0)]
    assert open_calls.count(stat) == 1
    assert open_calls.count(pid_stat) == 1


def test_forget_except_closes_files_of_pids_not_in_the_tree(
    fake_proc: FakeProc, open_calls: list[str], close_calls: list[int]
) -> None:
    for pid in (1, 12, 13):  # 1 is a prefix of 12 and 13: only whole pids may match
        fake_proc.add_process(pid, 0)
    fs = ProcFS(fake_proc.root)
    fs.machine_busy_cpu_s()
    fs.tree_cpu_and_rss([1, 12, 13])
    fs.tree_io_b([1, 12, 13])
    assert close_calls == []
    fs.forget_except([1])
    assert len(close_calls) == 4  # stat and io of 12 and 13
    open_calls.clear()
    fs.machine_busy_cpu_s()
    fs.tree_cpu_and_rss([1])
    fs.tree_io_b([1])
    assert open_calls == []  # machine files and pid 1's files were kept
    fs.tree_cpu_and_rss([12])
    assert open_calls == [f"{fake_proc.root}/12/stat"]  # 12's were closed: reopened
    fs.close()
    assert len(close_calls) == 4 + 4  # /stat, 1/stat, 1/io, 12/stat


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads, Python 3.12+
def test_real_fork_child_opens_its_own_descriptors(fake_proc: FakeProc) -> None:
    """After os.fork the child must not pread the parent's descriptors (shared open file
    descriptions): its first read opens the file anew. A real fork, so the test holds whatever
    the cache uses to notice the fork (getpid, os.register_at_fork)."""
    fs = ProcFS(fake_proc.root)
    stat = f"{fake_proc.root}/stat"
    fs.machine_busy_cpu_s()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report how often it opened /proc/stat, and what it read
        try:
            opened = []
            real_open = os.open

            def spy(path: str, flags: int, *args: int) -> int:
                opened.append(path)
                return real_open(path, flags, *args)

            os.open = spy  # type: ignore[assignment]
            busy = fs.machine_busy_cpu_s()
            os.write(w, f"{opened.count(stat)} {busy}".encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report == "1 0.0"
    fake_proc.run_for(1.0, busy_cpus=1.0)
    assert fs.machine_busy_cpu_s() == pytest.approx(1.0)  # the parent's descriptor still works


def test_close_closes_everything(fake_proc: FakeProc, close_calls: list[int]) -> None:
    fake_proc.add_process(10, 1)
    fs = ProcFS(fake_proc.root)
    fs.machine_busy_cpu_s()
    fs.machine_mem_used_b()
    fs.tree(10)
    fs.tree_cpu_and_rss([10])
    fs.close()
    assert len(close_calls) == 4  # stat, meminfo, 10/task/10/children, 10/stat
    assert len(set(close_calls)) == 4


def test_tree_of_a_real_process_includes_its_children() -> None:
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs a Linux procfs")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in ProcFS(Path("/proc")).tree(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_short_lived_threads_leave_no_open_files() -> None:
    """Each thread has its own children file; caching them would leak one per thread."""
    import threading

    fs = ProcFS()
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(30):
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        fs.tree(os.getpid())  # a full walk while the thread lives
        stop.set()
        t.join()
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 1  # the main thread's file
    fs.close()
