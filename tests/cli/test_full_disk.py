"""A real full file system (a small tmpfs the test mounts): the run's record cannot be written,
and `wattprint run` says so and exits non-zero — never a silent success — leaving no partial
files; reading the store still works."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {res.stderr}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(PYTHONPATH=str(SRC), WATTPRINT_DB=str(db), WATTPRINT_CPU_TDP_W="100")
    return env


FILL = (
    "import sys\n"
    "f = open(sys.argv[1], 'wb')\n"
    "try:\n"
    "    while True:\n"
    "        f.write(b'x' * 4096); f.flush()\n"
    "except OSError:\n"
    "    pass\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts a tmpfs")
def test_a_full_disk_is_a_non_zero_exit_naming_what_was_not_written(small_fs: Path) -> None:
    db, record = small_fs / "runs.sqlite3", small_fs / "run.json"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattprint",
            "run",
            "--json",
            str(record),
            "--",
            sys.executable,
            "-c",
            FILL,
            str(small_fs / "fill"),
        ],
        env=_env(db),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert res.returncode == 1, res.stderr  # the command exited 0; the record is lost
    last = res.stderr.strip().splitlines()[-1]
    assert "not written" in last and str(record) in last
    assert not record.exists()
    leftovers = [p.name for p in small_fs.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []  # no half-written temporary file stays behind
    listed = subprocess.run(
        [sys.executable, "-m", "wattprint", "runs"],
        env=_env(db),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr  # reading needs no free space
