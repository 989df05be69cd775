"""Tamper-evident run records: an HMAC-SHA256 chain over the store's finished runs.

Eco2AI calls its logs "encrypted" but shifts letters by a fixed amount; anyone can forge them.
Here each finished run, in ``seq`` order (the order runs finished), gets
``hmac = HMAC-SHA256(key, prev_hmac || #seq || canonical record)``, so editing a record, editing
its seq, deleting a run or reordering runs breaks the chain for anyone who holds the key. A
signed *head* in the ``meta`` table (the last hmac, its run, seq and the count of signed runs,
with its own HMAC) makes deleting the newest runs visible too. What the chain cannot show is
the whole store replaced by an older copy of itself: keep the head (``verify`` reports it)
somewhere else if that matters.

The key is the user's secret (the ``signing_key`` setting, or bytes passed in). It is only ever
an argument: it is never written to the database, logged, or put into an error message.

Every field of ``Run.to_dict()`` is signed: a record no longer changes once its run has ended,
so none is volatile. The store's bookkeeping (pid, heartbeat) is not part of the record and is
not signed; timelines and intensity bins are detail beside the record and are not signed
either. The derived query columns are checked against the signed record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wattprint.errors import ConfigError, SigningError
from wattprint.records.store import RunStore, get_meta, set_meta
from wattprint.records.store_schema import record_mismatches
from wattprint.records.store_sql import Conn
from wattprint.settings import MIN_KEY_BYTES

HEAD_KEY = "chain_head"
_KEY_HINT = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


def configured_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The ``signing_key`` setting (environment or config file) as UTF-8 bytes; None if unset.
    A key too short is a ConfigError."""
    from wattprint.settings import setting

    value = setting("signing_key", environ=environ)
    return value.encode() if isinstance(value, str) else None


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"the signing key must be at least {MIN_KEY_BYTES} bytes; {_KEY_HINT}")


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted-key, compact, ASCII JSON of the whole record.

    The stored JSON is signed as stored (not re-built through :class:`Run`), so a newer
    wattprint that adds fields to ``Run`` still verifies older records.
    """
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link(key: bytes, prev_hmac: str, record: Mapping[str, Any], *, seq: int | None = None) -> str:
    """One link of the chain: HMAC-SHA256 hex of ``prev_hmac || [#seq\\n] || canonical``."""
    seq_part = b"" if seq is None else f"#{seq}\n".encode()
    message = prev_hmac.encode() + seq_part + canonical_bytes(record)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _equal(stored: object, expected: str) -> bool:
    """Constant-time comparison that tolerates whatever a tamperer put in the column."""
    return isinstance(stored, str) and hmac.compare_digest(stored.encode(), expected.encode())


@dataclass(frozen=True)
class _Head:
    hmac: str
    run_id: str
    seq: int
    count: int

    def mac(self, key: bytes) -> str:
        body = {"hmac": self.hmac, "run_id": self.run_id, "seq": self.seq, "count": self.count}
        return link(key, "chain-head", body)


def _read_head(conn: Conn) -> tuple[_Head, str] | None:
    """The stored head and its MAC, or None. A malformed head reads as one with a bad MAC."""
    text = get_meta(conn, HEAD_KEY)
    if text is None:
        return None
    try:
        d = json.loads(text)
        return _Head(str(d["hmac"]), str(d["run_id"]), int(d["seq"]), int(d["count"])), str(
            d["mac"]
        )
    except (ValueError, KeyError, TypeError):
        return _Head("", "", 0, 0), ""


def _write_head(conn: Conn, head: _Head, key: bytes) -> None:
    value = {
        "hmac": head.hmac,
        "run_id": head.run_id,
        "seq": head.seq,
        "count": head.count,
        "mac": head.mac(key),
    }
    set_meta(conn, HEAD_KEY, json.dumps(value, sort_keys=True))


def sign_pending(store: RunStore, key: bytes) -> int:
    """Sign the ended runs that are not signed yet, in ``seq`` order; return how many.

    The chain continues from the signed head (not from whatever run now looks newest), so a
    deleted run stays visible. Signing stops at a numbered run that is running again (one
    marked interrupted while suspended, that resumed) and resumes once it ends.
    """
    _check_key(key)

    def fn(conn: Conn) -> int:
        stored = _read_head(conn)
        if stored is None:
            if conn.execute("SELECT 1 FROM runs WHERE hmac IS NOT NULL LIMIT 1").fetchone():
                raise SigningError(
                    f"{store.path} has signed runs but no chain head: it was edited; "
                    "run `wattprint verify` to see what changed"
                )
            head = _Head("", "", 0, 0)
        else:
            head, mac = stored
            if not _equal(mac, head.mac(key)):
                raise SigningError(
                    f"the chain head in {store.path} does not verify with this key: a different "
                    f"signing key signed it, or it was edited; run `wattprint verify`"
                )
        rows = conn.execute(
            "SELECT id, seq, status, record FROM runs WHERE seq > ? AND hmac IS NULL ORDER BY seq",
            (head.seq,),
        ).fetchall()
        signed = 0
        for run_id, seq, status, record in rows:
            if status == "running":
                break
            try:
                d = json.loads(record)
            except ValueError:
                raise SigningError(
                    f"run {run_id} in {store.path} has a record that is not JSON: it was "
                    "edited; run `wattprint verify`"
                ) from None
            value = link(key, head.hmac, d, seq=seq)
            conn.execute("UPDATE runs SET hmac = ? WHERE id = ?", (value, run_id))
            head = _Head(value, run_id, seq, head.count + 1)
            signed += 1
        if signed:
            _write_head(conn, head, key)
        return signed

    return store.write(fn)


@dataclass
class VerifyReport:
    """What :func:`verify` found. ``ok`` is False when any problem was found; runs not
    signed yet are ``warnings``, not problems."""

    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    head: str | None = None  # the last hmac of the chain: keep it elsewhere to pin the store


def verify(store: RunStore, key: bytes) -> VerifyReport:
    """Check every signed run and the head against ``key``, on one snapshot of the store."""
    _check_key(key)
    return store.read(lambda conn: _verify(conn, key))


def _verify(conn: Conn, key: bytes) -> VerifyReport:
    problems: list[str] = []
    warnings: list[str] = []
    stored = _read_head(conn)
    head: _Head | None = None
    head_ok = True
    if stored is not None:
        head, mac = stored
        head_ok = _equal(mac, head.mac(key))
        if not head_ok:
            problems.append(
                "chain head does not verify with this key: wrong signing key, or the head was "
                "edited"
            )
    head_seq = head.seq if head is not None else 0
    rows = conn.execute(
        "SELECT id, seq, record, hmac FROM runs WHERE seq IS NOT NULL ORDER BY seq"
    ).fetchall()
    if head is None and any(r[3] is not None for r in rows):
        problems.append("the chain head is missing from the meta table: it was deleted")
    # Every run that ended got a seq when it did; one without is outside the chain, where no
    # check would see it: its seq was removed, or the row was written by hand.
    for (run_id,) in conn.execute(
        "SELECT id FROM runs WHERE seq IS NULL AND status != 'running' ORDER BY id"
    ):
        problems.append(
            f"run {run_id} has ended but is outside the chain (no seq): forged or edited"
        )
    prev_hmac, prev_seq, prev_id = "", 0, ""
    checked = good = 0
    link_problems: list[str] = []
    for run_id, seq, record, stored_hmac in rows:
        if not isinstance(seq, int):
            problems.append(f"run {run_id}: seq edited (not an integer: {seq!r})")
            continue
        # After a deleted run or a removed signature the next link cannot match: that
        # deletion is the news, not an edit of the next run.
        broken = seq != prev_seq + 1
        if broken:
            missing = f"seq {prev_seq + 1}" + (f"-{seq - 1}" if seq - 1 > prev_seq + 1 else "")
            after = f"after run {prev_id} " if prev_id else "before the first run "
            problems.append(f"{missing} missing: run(s) deleted {after}and before run {run_id}")
        if stored_hmac is None:
            if seq <= head_seq:
                problems.append(f"run {run_id} (seq {seq}): its signature was removed")
                prev_hmac = "(removed)"
            else:
                warnings.append(f"run {run_id} (seq {seq}) is not signed yet")
            prev_seq, prev_id = seq, run_id
            continue
        broken = broken or prev_hmac == "(removed)"
        if head is not None and head_ok and seq > head_seq:
            problems.append(
                f"run {run_id} (seq {seq}) is signed beyond the chain head (seq {head_seq}): "
                "the head was rolled back"
            )
        checked += 1
        try:
            d = json.loads(record)
        except ValueError:
            d = None
        if not isinstance(d, dict):
            link_problems.append(f"run {run_id} (seq {seq}): record edited (not valid JSON)")
        elif _equal(stored_hmac, link(key, prev_hmac, d, seq=seq)):
            good += 1
            problems.extend(record_mismatches(conn, run_id, d))
        elif broken:
            problems.extend(record_mismatches(conn, run_id, d))
        else:
            link_problems.append(
                f"run {run_id} (seq {seq}): record edited (its signature does not match)"
            )
        prev_hmac, prev_seq, prev_id = str(stored_hmac), seq, run_id
    if checked and not good and not head_ok:
        problems.append(f"none of the {checked} signed runs verifies with this key: wrong key?")
    else:
        problems.extend(link_problems)
    if head is not None and head_ok and prev_hmac != head.hmac:
        if all(r[0] != head.run_id for r in rows):
            problems.append(
                f"run {head.run_id} (seq {head.seq}), the newest signed run, was deleted"
            )
        elif head.seq >= prev_seq and prev_hmac != "(removed)":
            problems.append(
                f"run {head.run_id} (seq {head.seq}): the chain head names it but its "
                "signature differs: it was re-signed or edited"
            )
    elif head is not None and head_ok and head.count != checked and not problems:
        problems.append(f"chain head counts {head.count} signed runs, the store has {checked}")
    return VerifyReport(
        ok=not problems,
        checked=checked,
        problems=problems,
        warnings=warnings,
        head=head.hmac if head is not None and head_ok else None,
    )
