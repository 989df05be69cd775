"""The dashboard's WSGI app over a real store, called directly (no socket): pages, filters,
errors, headers, escaping, and a store left byte for byte as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from tests.dashboard.conftest import EVIL
from wattprint.dashboard.app import Dashboard
from wattprint.errors import StoreError
from wattprint.records.reader import StoreReader

HOST = "127.0.0.1:8787"


def get(
    app: Dashboard, path: str, method: str = "GET", host: str = HOST
) -> tuple[str, dict[str, str], str]:
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": method, "HTTP_HOST": host,
    }  # fmt: skip
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response)).decode()
    return seen["status"], seen["headers"], body


@pytest.fixture
def app(store_target: Path | str) -> Any:
    with StoreReader(store_target) as reader:
        yield Dashboard(reader, hosts=[HOST])


def _ids(body: str) -> list[str]:
    import re

    return re.findall(r"<a href='/run/([^']+)'>", body)


def test_runs_list_and_filters(app: Dashboard) -> None:
    status, _, body = get(app, "/")
    assert status == "200 OK" and len(_ids(body)) == 5
    assert "5 runs, 38 Wh" in body and "(1 without a zone, no CO2)" in body
    assert _ids(get(app, "/?project=vision")[2]) == ["run-a2-000002", "run-a1-000001"]
    tagged = ["run-d1-000005", "run-b1-000003", "run-a1-000001"]  # d1 keeps make_run's tags
    assert _ids(get(app, "/?tag=baseline")[2]) == tagged
    assert _ids(get(app, "/?status=failed")[2]) == ["run-b1-000003"]
    assert _ids(get(app, "/?since=2026-02-11&until=2026-03-01")[2]) == [
        "run-c1-000004", "run-b1-000003",
    ]  # fmt: skip
    assert get(app, "/?status=bogus")[0] == "400 Bad Request"
    assert get(app, "/?since=yesterday")[0] == "400 Bad Request"
    assert get(app, "/?offset=x")[0] == "400 Bad Request"


def test_every_page_escapes_user_strings_and_sends_a_strict_policy(app: Dashboard) -> None:
    for path in ("/", "/run/run-c1-000004", "/projects", "/esg?from=2026-01-01&to=2026-12-31",
                 "/compare?run=run-c1-000004&run=run-a1-000001", "/?project=" + EVIL):  # fmt: skip
        status, headers, body = get(app, path)
        assert status == "200 OK", path
        assert EVIL not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_run_page_compare_projects_esg(app: Dashboard) -> None:
    body = get(app, "/run/run-a1-000001")[2]
    assert "<nav>" in body and 'class="power"' in body and "Energy by device" in body
    assert get(app, "/run/nope")[0] == "404 Not Found"
    body = get(app, "/compare?run=run-a1-000001&run=run-a2-000002")[2]
    assert "<table id='compare'>" in body and body.count('class="bar"') == 2
    assert "Tick two or more" in get(app, "/compare?run=run-a1-000001")[2]
    assert get(app, "/compare?run=nope&run=run-a1-000001")[0] == "404 Not Found"
    body = get(app, "/projects")[2]
    assert body.count("class='month'") == 5  # vision: Jan, Feb; nlp: Feb, Mar; evil: Mar
    body = get(app, "/esg?from=2026-01-01&to=2026-12-31")[2]
    assert "Scope 2 electricity" in body and "Runs not counted (1)" in body
    assert get(app, "/esg?from=2026-12-31&to=2026-01-01")[0] == "400 Bad Request"


def test_it_only_reads_and_only_answers_its_own_host(app: Dashboard) -> None:
    assert get(app, "/", method="POST")[0] == "405 Method Not Allowed"
    assert get(app, "/", method="DELETE")[1]["Allow"] == "GET, HEAD"
    assert get(app, "/", host="evil.example:8787")[0] == "400 Bad Request"
    status, headers, body = get(app, "/", method="HEAD")
    assert status == "200 OK" and body == "" and int(headers["Content-Length"]) > 0
    assert get(app, "/etc/passwd")[0] == "404 Not Found"


def test_the_store_file_is_unchanged_and_never_migrated(store_path: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    with StoreReader(store_path) as reader:
        app = Dashboard(reader, hosts=[HOST])
        for path in ("/", "/run/run-a1-000001", "/projects", "/esg", "/compare?run=run-a1-000001"):
            get(app, path)
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE runs (id TEXT)")
    conn.commit()
    conn.close()
    old_bytes = old.read_bytes()
    with pytest.raises(StoreError, match="some other program"):
        StoreReader(old)  # a foreign database: judged by its header, never connected to
    assert old.read_bytes() == old_bytes
    with pytest.raises(StoreError, match="no run store"):
        StoreReader(tmp_path / "missing.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()


def test_many_requests_leave_no_connection_behind(app: Dashboard) -> None:
    """The server runs each request in a new thread: none may keep a connection open."""
    import os
    import threading

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    get(app, "/")
    before = fds()
    for _ in range(60):
        t = threading.Thread(target=get, args=(app, "/run/run-a1-000001"))
        t.start()
        t.join()
    assert fds() <= before + 2


def test_dates_offsets_and_odd_ids(app: Dashboard) -> None:
    # a compact date is the same whole day as the dashed one
    assert _ids(get(app, "/?until=20260301")[2]) == _ids(get(app, "/?until=2026-03-01")[2])
    assert len(_ids(get(app, "/?until=2026-03-01")[2])) == 4
    assert get(app, "/?offset=" + "9" * 30)[0] == "400 Bad Request"
    assert get(app, "/run/%ff")[0] in ("404 Not Found", "400 Bad Request")


def test_a_reader_opens_a_store_that_is_being_written(tmp_path: Path) -> None:
    from tests.records.store_helpers import make_run
    from wattprint.records.store import RunStore

    path = tmp_path / "live.sqlite3"
    with RunStore(path) as store:  # open, in WAL mode, header on disk not yet written back
        store.begin(make_run("live-000001", status="running"))
        with StoreReader(path) as reader:
            assert [r.run_id for r in reader.rows(reader_filter())] == ["live-000001"]


def reader_filter() -> Any:
    from wattprint.records.reader import RunFilter

    return RunFilter()
