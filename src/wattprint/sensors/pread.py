"""A procfs/sysfs file kept open and re-read from offset 0.

procfs and sysfs regenerate a file's content on every read that starts at offset 0, so an open
descriptor read with ``pread(fd, n, 0)`` always sees the current value. One syscall per read
instead of three (open, read, close) matters on the sampler's hot path. A descriptor is never
shared across ``fork``: the child reopens.
"""

from __future__ import annotations

import contextlib
import os

_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


class _ForkGeneration:
    """Counts forks in this process's lineage, so a file can tell it was opened by a parent
    without calling getpid() (a real syscall) on every read."""

    value = 0

    @classmethod
    def bump(cls) -> None:
        cls.value += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ForkGeneration.bump)


class PreadFile:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._generation = -1

    def read(self, size: int = 65536) -> bytes:
        """Up to ``size`` bytes from the start of the file. Raises OSError (e.g. ESRCH once a
        process has exited, EACCES for a root-only file); the next call reopens."""
        if self._fd is None or self._generation != _ForkGeneration.value:
            self._fd, self._generation = os.open(self.path, _O_FLAGS), _ForkGeneration.value
        try:
            return os.pread(self._fd, size, 0)
        except OSError:
            self.close()
            raise

    def read_all(self, chunk: int = 65536) -> bytes:
        """The whole file, however long (procfs hands out a page or so per read)."""
        data = self.read(chunk)
        if len(data) < chunk:
            return data
        parts = [data]
        assert self._fd is not None
        offset = len(data)
        while part := os.pread(self._fd, chunk, offset):
            parts.append(part)
            offset += len(part)
        return b"".join(parts)

    def read_text(self, size: int = 65536) -> str | None:
        """Like :meth:`read`, decoded, or None when the file cannot be read."""
        try:
            return self.read(size).decode("ascii", "replace")
        except OSError:
            return None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._generation == _ForkGeneration.value:
            with contextlib.suppress(OSError):
                os.close(fd)
