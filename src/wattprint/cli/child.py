"""Run the measured command as a child and pass on the signals meant for it.

A terminal's Ctrl-C reaches the whole foreground process group, the child included, so
forwarding *that* SIGINT would deliver it twice; a ``kill -INT`` (or a scheduler's or Docker's
stop signal) reaches wattprint alone and must be forwarded. The two differ only in the sender,
which ``sigtimedwait`` reports (``si_code``: SI_KERNEL for the terminal, <= 0 for kill/tgkill/
sigqueue). So on Linux the signals are blocked in every thread — before the sampler thread
starts, so it inherits the mask — and waited for; the child is spawned with an empty mask.
Elsewhere SIGTERM is forwarded by a handler and SIGINT left to the terminal.

If wattprint itself is killed (SIGKILL from a scheduler or the OOM killer), the command must not
run on unmeasured: on Linux the child asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, set between fork and exec), and exits at once if the parent is
already gone by then.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_SI_KERNEL = 0x80  # si_code of a signal the kernel raised itself (terminal keys)


def exit_code(returncode: int) -> int:
    """A shell's exit code for a child's return code: 128 + N when killed by signal N."""
    return returncode if returncode >= 0 else 128 - returncode


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _prctl() -> Callable[..., int] | None:
    """libc's prctl on Linux (looked up before the measurement starts: loading ctypes is
    wattprint's work, not the command's)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no libc prctl: the child is not tied to us
        return None
    return prctl


def _spawn(cmd: Sequence[str], prctl: Callable[..., int] | None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with an empty signal mask, SIGPIPE/SIGXFSZ at their defaults (Python
    ignores them), and, with ``prctl``, SIGKILL when wattprint dies."""
    parent = os.getpid()

    def in_child() -> None:  # between fork and exec: no Python-level locks are taken
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:  # wattprint died before the prctl took effect
                os._exit(128 + int(signal.SIGKILL))

    return subprocess.Popen(list(cmd), preexec_fn=in_child, restore_signals=True)


class ChildRunner:
    """``with ChildRunner() as r: ...; code = r.run(cmd)`` — enter before starting threads."""

    def __init__(self) -> None:
        self._precise = hasattr(signal, "sigtimedwait") and hasattr(os, "posix_spawnp")
        self._old_mask: set[int | signal.Signals] | None = None
        self._prctl = _prctl() if self._precise else None

    def __enter__(self) -> ChildRunner:
        if self._precise:
            waited = {*FORWARDED, signal.SIGCHLD}
            self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._old_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)

    def drain(self) -> None:
        """Discard the signals that arrived after the child ended (they were meant for it)."""
        if self._old_mask is not None:
            waited = {*FORWARDED, signal.SIGCHLD}
            while signal.sigtimedwait(waited, 0) is not None:
                pass

    def run(self, cmd: Sequence[str], on_wait: Callable[[], None] | None = None) -> int:
        """Run ``cmd`` to its end; returns its return code (negative: killed by a signal).
        ``on_wait`` is called about once a second while it runs (the live status line).
        Raises OSError when it cannot be started."""
        if self._precise:
            return self._run_precise(cmd, on_wait or (lambda: None))
        return self._run_portable(cmd)

    def _run_precise(self, cmd: Sequence[str], on_wait: Callable[[], None]) -> int:
        child = _spawn(cmd, self._prctl)
        pid = child.pid
        waited = {*FORWARDED, signal.SIGCHLD}
        while True:
            info = signal.sigtimedwait(waited, 1.0)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
                return child.returncode
            if info is not None and info.si_signo != signal.SIGCHLD and info.si_code != _SI_KERNEL:
                os.kill(pid, info.si_signo)
            elif info is None:
                on_wait()

    def _run_portable(self, cmd: Sequence[str]) -> int:  # pragma: no cover - non-Linux
        child = subprocess.Popen(list(cmd))

        def forward(signum: int, frame: FrameType | None) -> None:
            child.send_signal(signum)

        previous = signal.signal(signal.SIGTERM, forward)
        try:
            while True:
                try:
                    return child.wait()
                except KeyboardInterrupt:  # the terminal sent it to the child too
                    continue
        finally:
            signal.signal(signal.SIGTERM, previous)
