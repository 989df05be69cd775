"""Every store command against a team store on a real PostgreSQL (``db=postgresql://...``),
and the URL's password kept out of every message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.test_store_cli import KEY, record, wp
from tests.cli.test_store_cli import env as sqlite_env  # noqa: F401 - a fixture, used below
from tests.monitor.servers import free_port
from tests.pg import PostgresServer
from tests.records.store_helpers import raw


@pytest.fixture
def env(sqlite_env: dict[str, str], pg_url: str) -> dict[str, str]:  # noqa: F811
    return dict(sqlite_env, WATTPRINT_DB=pg_url)


def test_the_store_commands_work_against_postgresql(env: dict[str, str], tmp_path: Path) -> None:
    a = record(env, "alpha", "sum(range(10**6))", "--tag", "x")
    b = record(env, "beta", "raise SystemExit(3)")
    listed = wp(env, "runs", "--json", "--limit", "0")
    assert listed.returncode == 0, listed.stderr
    runs = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["run_id"][:12] for r in runs} == {a[:12], b[:12]}
    tagged = wp(env, "runs", "--tag", "x", "--json").stdout.splitlines()
    assert [json.loads(line)["project"] for line in tagged] == ["alpha"]
    shown = wp(env, "show", a)
    assert shown.returncode == 0 and "provenance" in shown.stdout
    assert wp(env, "summary").returncode == 0
    timeline = wp(env, "timeline", a)
    assert timeline.returncode == 0 and timeline.stdout.startswith("t_s")
    page = tmp_path / "report.html"
    assert wp(env, "report", a, "--html", str(page)).returncode == 0
    assert a[:12] in page.read_text()
    esg = wp(env, "esg", "--from", "2020-01-01", "--to", "2100-01-01", "--format", "csv")
    assert esg.returncode == 0, esg.stderr
    verified = wp(env, "verify")
    assert verified.returncode == 0 and "2 signed runs" in verified.stdout
    with raw(env["WATTPRINT_DB"]) as conn:  # an edit by someone with psql
        conn.execute("UPDATE runs SET energy_kwh = energy_kwh * 2 WHERE id LIKE ?", (a + "%",))
    edited = wp(env, "verify")
    assert edited.returncode == 1 and a in edited.stdout
    assert KEY not in edited.stdout + edited.stderr
    # The whole store moves between engines through export and import.
    out = tmp_path / "runs.jsonl"
    assert wp(env, "export", "--format", "jsonl", "--out", str(out)).returncode == 0
    local = dict(env, WATTPRINT_DB=str(tmp_path / "local.sqlite3"))
    imported = wp(local, "import", str(out), "--format", "jsonl")
    assert imported.returncode == 0 and "imported 2 new run(s)" in imported.stderr


def test_the_password_of_the_url_is_never_shown(
    env: dict[str, str], postgres_server: PostgresServer
) -> None:
    secret = "s3cr3t-pw"
    url = f"postgresql://wattprint:{secret}@127.0.0.1:{postgres_server.port}/no_such_db"
    bad = dict(env, WATTPRINT_DB=url)
    res = wp(bad, "runs")
    assert res.returncode == 2
    assert secret not in res.stdout + res.stderr
    assert "wattprint:***@127.0.0.1" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    settings = wp(bad, "settings")
    assert settings.returncode == 0 and secret not in settings.stdout + settings.stderr


def test_a_bad_url_fails_before_the_command_runs(env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w')"
    for url in ("postgresql://db.example:notaport/runs", "postgresql://"):
        res = wp(env, "run", "--db", url, "--", sys.executable, "-c", code)
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "PostgreSQL URL" in res.stderr
    # A well-formed URL whose server does not answer: the team store must work, so the
    # command does not start without it (the default store only warns).
    closed = f"postgresql://wattprint:pw1234@127.0.0.1:{free_port()}/runs"
    res = wp(env, "run", "--db", closed, "--", sys.executable, "-c", code)
    assert res.returncode == 2, res.stderr
    assert "cannot connect" in res.stderr and "pw1234" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not marker.exists()
