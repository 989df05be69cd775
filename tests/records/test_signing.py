"""The HMAC chain: an untouched store verifies; every kind of tampering is named."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.records.store_helpers import BACKENDS, backend_target, is_pg, make_run, raw
from wattprint.errors import ConfigError, SigningError
from wattprint.records.signing import (
    canonical_bytes,
    configured_key,
    link,
    sign_pending,
    verify,
)
from wattprint.records.store import RunStore
from wattprint.records.store_sql import Conn

ENV_KEY = "WATTPRINT_SIGNING_KEY"
KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
IDS = ("run-a", "run-b", "run-c", "run-d", "run-e")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """Five finished runs, signed (on SQLite, and on a real PostgreSQL)."""
    s = RunStore(backend_target(request, tmp_path))
    for i, run_id in enumerate(IDS):
        s.finish(make_run(run_id, energy_kwh=0.001 * (i + 1)))
    assert sign_pending(s, KEY) == len(IDS)
    yield s
    s.close()


def tamper(store: RunStore) -> contextlib.AbstractContextManager[Conn]:
    """A plain connection, as someone editing the store with the sqlite3 shell or psql would
    use."""
    return raw(store.path)


def one_line(problems: list[str]) -> None:
    assert all("\n" not in p for p in problems)


# -- primitives ------------------------------------------------------------------------------
def test_canonical_bytes_ignore_key_order_and_are_compact() -> None:
    a = canonical_bytes({"b": 1, "a": [1.5, "é"]})
    assert a == canonical_bytes({"a": [1.5, "é"], "b": 1})
    assert a == b'{"a":[1.5,"\\u00e9"],"b":1}'


def test_link_depends_on_key_previous_link_seq_and_record() -> None:
    record = make_run().to_dict()
    base = link(KEY, "", record, seq=1)
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == link(KEY, "", record, seq=1)
    assert base != link(OTHER_KEY, "", record, seq=1)
    assert base != link(KEY, "0" * 64, record, seq=1)
    assert base != link(KEY, "", record, seq=2)
    assert base != link(KEY, "", {**record, "energy_kwh": 0.0025000001}, seq=1)


def test_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    assert configured_key() is None
    monkeypatch.setenv(ENV_KEY, "short")
    with pytest.raises(ConfigError, match="at least 16 bytes") as info:
        configured_key()
    assert "'short'" not in str(info.value)  # a secret is never echoed, even a bad one
    monkeypatch.setenv(ENV_KEY, KEY.decode())
    assert configured_key() == KEY


# -- an honest store ---------------------------------------------------------------------------
def test_an_untouched_chain_verifies(store: RunStore) -> None:
    report = verify(store, KEY)
    assert report.ok, report.problems
    assert report.checked == len(IDS)
    assert report.problems == [] and report.warnings == []
    assert report.head is not None and len(report.head) == 64


def test_signing_is_idempotent_and_extends_the_chain(store: RunStore) -> None:
    assert sign_pending(store, KEY) == 0
    store.finish(make_run("run-f"))
    assert sign_pending(store, KEY) == 1
    report = verify(store, KEY)
    assert report.ok and report.checked == 6


def test_unsigned_runs_are_warnings_not_failures(store: RunStore) -> None:
    store.finish(make_run("late-1"))
    store.finish(make_run("late-2"))
    store.begin(make_run("still-running"))  # not ended: not part of the chain at all
    report = verify(store, KEY)
    assert report.ok
    assert report.checked == len(IDS)
    assert len(report.warnings) == 2
    assert "late-1" in report.warnings[0] and "late-2" in report.warnings[1]


def test_interrupted_runs_are_signed_too(store: RunStore) -> None:
    store.begin(make_run("crashed"), pid=2**22 + 12345)  # a pid that no process has
    assert store.mark_interrupted() == 1
    assert sign_pending(store, KEY) == 1
    assert verify(store, KEY).ok


def test_the_key_is_never_written_to_the_database(store: RunStore) -> None:
    if is_pg(store.path):  # every value of every table, as psql would show them
        with tamper(store) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ]
            rows = [conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables]
        assert "meta" in tables and "runs" in tables
        blob = repr(rows).encode()
    else:
        files = [Path(store.path), *Path(store.path).parent.glob(Path(store.path).name + "-*")]
        blob = b"".join(p.read_bytes() for p in files)
    assert KEY not in blob and KEY.hex().encode() not in blob


# -- tampering ------------------------------------------------------------------------------------
def test_an_edited_energy_column_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("UPDATE runs SET energy_kwh = energy_kwh / 2 WHERE id = 'run-c'")
    report = verify(store, KEY)
    assert not report.ok
    assert len(report.problems) == 1
    assert "run-c" in report.problems[0] and "energy_kwh" in report.problems[0]
    one_line(report.problems)


def test_a_forged_row_outside_the_chain_is_detected(store: RunStore) -> None:
    """A row inserted by hand with seq NULL would be in no link of the chain."""
    with tamper(store) as conn:
        conn.execute(
            "INSERT INTO runs (id, seq, project, started_at, status, record) "
            "SELECT 'forged', NULL, project, started_at, status, record FROM runs "
            "WHERE id = 'run-a'"
        )
    report = verify(store, KEY)
    assert not report.ok
    assert any("forged" in p and "outside the chain" in p for p in report.problems)
    one_line(report.problems)


def test_a_removed_seq_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("UPDATE runs SET seq = NULL, hmac = NULL WHERE id = 'run-e'")
    report = verify(store, KEY)
    assert not report.ok and any("run-e" in p for p in report.problems)


def test_an_edited_component_row_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("UPDATE components SET energy_kwh = 0 WHERE run_id = 'run-b' AND idx = 0")
    report = verify(store, KEY)
    assert not report.ok
    assert report.problems == ["run run-b: components row 0 was edited"]


def test_an_edited_record_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        (text,) = conn.execute("SELECT record FROM runs WHERE id = 'run-d'").fetchone()
        record = json.loads(text)
        record["energy_kwh"] = 0.0001
        conn.execute(
            "UPDATE runs SET record = ?, energy_kwh = 0.0001 WHERE id = 'run-d'",
            (json.dumps(record),),
        )
    report = verify(store, KEY)
    assert not report.ok
    assert len(report.problems) == 1
    assert "run-d" in report.problems[0] and "record edited" in report.problems[0]


def test_a_deleted_middle_run_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("DELETE FROM runs WHERE id = 'run-c'")
    report = verify(store, KEY)
    assert not report.ok
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert "seq 3 missing" in problem and "deleted" in problem
    assert "run-b" in problem and "run-d" in problem


def test_a_deleted_first_run_is_detected(store: RunStore) -> None:
    store.delete("run-a")
    report = verify(store, KEY)
    assert not report.ok
    assert any("seq 1 missing" in p for p in report.problems)


def test_a_deleted_newest_run_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("DELETE FROM runs WHERE id = 'run-e'")
    report = verify(store, KEY)
    assert not report.ok
    assert report.problems == ["run run-e (seq 5), the newest signed run, was deleted"]


def test_a_deleted_newest_run_stays_visible_after_more_runs(store: RunStore) -> None:
    store.delete("run-e")
    store.finish(make_run("run-f"))
    assert sign_pending(store, KEY) == 1
    report = verify(store, KEY)
    assert not report.ok
    assert any("seq 5 missing" in p and "run-f" in p for p in report.problems)


def test_renumbering_to_hide_a_deletion_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("DELETE FROM runs WHERE id = 'run-c'")
        conn.execute("UPDATE runs SET seq = seq - 1 WHERE seq > 3")
    report = verify(store, KEY)
    assert not report.ok
    assert any("run-d" in p and "record edited" in p for p in report.problems)


def test_a_removed_signature_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("UPDATE runs SET hmac = NULL WHERE id = 'run-b'")
    report = verify(store, KEY)
    assert not report.ok
    assert report.problems == ["run run-b (seq 2): its signature was removed"]


def test_a_deleted_head_is_detected_and_blocks_signing(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'chain_head'")
    report = verify(store, KEY)
    assert not report.ok
    assert any("chain head is missing" in p for p in report.problems)
    store.finish(make_run("run-f"))
    with pytest.raises(SigningError, match="no chain head"):
        sign_pending(store, KEY)


def test_a_rolled_back_head_is_detected(store: RunStore) -> None:
    with tamper(store) as conn:
        (old_head,) = conn.execute("SELECT value FROM meta WHERE key = 'chain_head'").fetchone()
    store.finish(make_run("run-f"))
    sign_pending(store, KEY)
    with tamper(store) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'chain_head'", (old_head,))
    report = verify(store, KEY)
    assert not report.ok
    assert any("run-f" in p and "rolled back" in p for p in report.problems)


# -- keys --------------------------------------------------------------------------------------
def test_the_wrong_key_fails_in_one_line(store: RunStore) -> None:
    report = verify(store, OTHER_KEY)
    assert not report.ok
    assert report.checked == len(IDS)
    assert len(report.problems) == 2
    assert "chain head does not verify" in report.problems[0]
    assert "wrong key" in report.problems[1]


def test_signing_with_the_wrong_key_is_refused(store: RunStore) -> None:
    store.finish(make_run("run-f"))
    with pytest.raises(SigningError, match="does not verify with this key"):
        sign_pending(store, OTHER_KEY)
    assert verify(store, KEY).ok  # nothing was signed with the wrong key


def test_short_keys_are_refused(store: RunStore) -> None:
    with pytest.raises(ConfigError):
        sign_pending(store, b"short")
    with pytest.raises(ConfigError):
        verify(store, b"short")


def test_an_empty_store_verifies(tmp_path: Path) -> None:
    with RunStore(tmp_path / "empty.sqlite3") as s:
        report = verify(s, KEY)
        assert sign_pending(s, KEY) == 0
    assert report.ok and report.checked == 0 and report.head is None


def test_a_late_finish_of_a_signed_run_is_refused(store: RunStore) -> None:
    with pytest.raises(Exception, match="signed"):
        store.finish(replace(make_run("run-a"), energy_kwh=1.0))
    assert verify(store, KEY).ok


def test_garbage_in_signature_columns_is_reported_not_raised(store: RunStore) -> None:
    with tamper(store) as conn:
        conn.execute("UPDATE runs SET hmac = 'é' WHERE id = 'run-b'")
        number = "42" if is_pg(store.path) else 42  # SQLite keeps an integer as it is
        conn.execute("UPDATE runs SET hmac = ? WHERE id = 'run-c'", (number,))
        if not is_pg(store.path):  # PostgreSQL's column types refuse a text seq
            conn.execute("UPDATE runs SET seq = 'x' WHERE id = 'run-d'")
    report = verify(store, KEY)
    assert not report.ok
    assert any("run-b" in p for p in report.problems)
    assert any("run-c" in p for p in report.problems)
    if not is_pg(store.path):
        assert any("run-d" in p and "seq edited" in p for p in report.problems)


def test_a_resumed_run_holds_the_chain_until_it_ends(store: RunStore) -> None:
    sleepy = make_run("sleepy", status="running", ended_at=None)
    store.begin(sleepy)
    with tamper(store) as conn:  # written by another host: judged by heartbeat
        conn.execute("UPDATE runs SET host_key = 'another-host' WHERE id = 'sleepy'")
    store.mark_interrupted(now=time.time() + 3600)  # seq 6
    store.checkpoint(sleepy)  # it was only suspended: running again, keeps seq 6
    store.finish(make_run("run-g"))  # seq 7
    assert sign_pending(store, KEY) == 0  # seq 6 is not final yet: the chain waits
    report = verify(store, KEY)
    assert report.ok and len(report.warnings) == 2
    store.finish(replace(sleepy, status="finished"))
    assert sign_pending(store, KEY) == 2
    report = verify(store, KEY)
    assert report.ok and report.checked == 7 and report.warnings == []
