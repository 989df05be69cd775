"""Where and with what a run ran: user, git commit, Python and ML package versions.

Everything here is cheap (no subprocess): the git commit is read from ``.git`` files directly.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from wattprint.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

#: Packages whose version is worth recording when the tracked process has imported them.
ML_PACKAGES = (
    "torch",
    "tensorflow",
    "jax",
    "keras",
    "transformers",
    "lightning",
    "pytorch_lightning",
    "sklearn",
    "numpy",
    "accelerate",
    "deepspeed",
)


def iso_utc(when: datetime | float) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: how every record writes an instant. Takes a
    datetime (naive ones are taken as UTC) or seconds since the epoch."""
    from datetime import datetime, timezone

    dt = when if isinstance(when, datetime) else datetime.fromtimestamp(when, timezone.utc)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of :func:`iso_utc` (an offset-less time is taken as UTC)."""
    from datetime import datetime, timezone

    dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def hostname() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


def user_name() -> str:
    for var in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # containers often lack a passwd entry
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def python_version() -> str:
    v = sys.version_info
    return f"{v.major}.{v.minor}.{v.micro}"


def loaded_packages() -> dict[str, str]:
    """Versions of the ML packages this process has imported (none are imported here)."""
    out = {}
    for name in ML_PACKAGES:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if isinstance(version, str):
            out[name] = version
    return out


def git_commit(start: Path | None = None) -> str | None:
    """The commit checked out in the repository containing ``start`` (default: cwd)."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:
        return None
    for d in (here, *here.parents):
        git = d / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            try:
                target = git.read_text().strip().removeprefix("gitdir:").strip()
            except OSError:
                return None
            git = (d / target).resolve()
        if git.is_dir():
            return _resolve_head(git)
    return None


def _resolve_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None  # detached
    ref = head[4:].strip()
    common = git
    if (git / "commondir").is_file():  # worktrees keep refs in the main repository
        with contextlib.suppress(OSError):
            common = (git / (git / "commondir").read_text().strip()).resolve()
    for base in (git, common):
        try:
            return (base / ref).read_text().strip() or None
        except OSError:
            continue
    try:
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return None  # a new repository with no commit yet


def command_line(command: object) -> tuple[str, ...] | None:
    """The command a run ran (``Tracker(command=)``): a list of strings, or None."""
    if command is None:
        return None
    if (
        isinstance(command, (str, bytes))
        or not isinstance(command, (list, tuple))
        or not all(isinstance(c, str) for c in command)
    ):
        raise ConfigError(f"command={command!r} must be a list of strings, e.g. ['ls', '-l']")
    return tuple(command)
