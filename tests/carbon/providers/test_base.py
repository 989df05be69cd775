"""fetch_json, redaction and the parsing helpers shared by all providers."""

from __future__ import annotations

import math
import urllib.error
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.carbon.providers.conftest import TOKEN, FakeOpener, http_error
from wattprint.carbon.providers.base import Bin, fetch_json, number, parse_time, redact
from wattprint.errors import ProviderError, WattprintError

URL = "https://api.example.invalid/v3/thing?zone=DE&secret=" + TOKEN
HEADERS = {"auth-token": TOKEN}


def _error(answer: bytes | BaseException) -> str:
    opener = FakeOpener({"example.invalid": answer})
    with pytest.raises(ProviderError) as info:
        fetch_json(URL, HEADERS, 3.0, opener, provider="demo", hint="check the token")
    message = str(info.value)
    assert TOKEN not in message
    assert "\n" not in message
    assert message.startswith("demo: ")
    return message


def test_parses_json_and_sends_headers() -> None:
    opener = FakeOpener({"example.invalid": b'{"a": [1, 2.5]}'})
    assert fetch_json(URL, HEADERS, 2.0, opener) == {"a": [1, 2.5]}
    assert opener.requests[0].get_header("Auth-token") == TOKEN
    assert opener.timeouts == [2.0]


def test_default_timeout_is_short() -> None:
    opener = FakeOpener({"example.invalid": b"{}"})
    fetch_json(URL, HEADERS, opener=opener)
    assert opener.timeouts == [3.0]


def test_http_error_is_one_redacted_line() -> None:
    message = _error(http_error(401, f"Unauthorized token {TOKEN}"))
    assert "HTTP 401" in message and "***" in message and "check the token" in message
    assert "secret=" not in message  # no query string in messages


def test_timeout() -> None:
    assert "no answer within 3 s" in _error(TimeoutError("timed out"))
    assert "no answer within 3 s" in _error(urllib.error.URLError(TimeoutError()))


def test_connection_failure() -> None:
    assert "connection failed" in _error(urllib.error.URLError(f"refused {TOKEN}"))


@pytest.mark.parametrize("body", [b"not json", b"{'a': 1}", b'{"a": NaN}', b"\xff\xfe", b""])
def test_invalid_json(body: bytes) -> None:
    assert "invalid JSON" in _error(body)


def test_provider_error_is_a_wattprint_error() -> None:
    assert issubclass(ProviderError, WattprintError)


def test_redact_longest_first_and_ignores_short() -> None:
    assert redact("abcdefgh abcd", ["abcd", "abcdefgh"]) == "*** ***"
    assert redact("abc b", ["abc", ""]) == "abc b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T10:00Z", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
        ("2024-03-01T10:00:00.000Z", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
        ("2024-03-01T11:00:00+01:00", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("bad", [None, "", 5, "yesterday"])
def test_parse_time_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


@pytest.mark.parametrize("bad", [None, "12", True, -1, math.nan, math.inf, [1]])
def test_number_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        number(bad, "x")


@given(st.floats(min_value=0, max_value=1e6) | st.integers(min_value=0, max_value=10**6))
def test_number_accepts_non_negative(value: float) -> None:
    assert number(value, "x") == float(value)


def test_bin_round_trip() -> None:
    b = Bin(parse_time("2024-03-01T10:00Z"), parse_time("2024-03-01T10:30Z"), 1.5, "s", "forecast")
    assert Bin.from_dict(b.to_dict()) == b
    assert b.duration_s == 1800
