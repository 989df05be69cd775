"""Fixtures for the live-provider tests: a fake opener serving recorded JSON, no network."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "FAKE-EM-TOKEN-s3cr3t-7f9c"
WT_PASSWORD = "FAKE-WT-PASSWORD-hunter2"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real urlopen fails the test: every request must go through a fake opener."""

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("a test tried to use the network (urllib.request.urlopen)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@dataclass
class FakeOpener:
    """Serves ``routes`` (URL substring -> fixture file name, bytes, or an exception to raise).

    The first matching route wins; an unmatched URL fails the test. Records every request.
    """

    routes: dict[str, str | bytes | BaseException] = field(default_factory=dict)
    requests: list[urllib.request.Request] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)

    def __call__(self, request: urllib.request.Request, timeout_s: float) -> bytes:
        self.requests.append(request)
        self.timeouts.append(timeout_s)
        url = request.full_url
        for pattern, answer in self.routes.items():
            if pattern in url:
                if isinstance(answer, BaseException):
                    raise answer
                if isinstance(answer, bytes):
                    return answer
                return (FIXTURES / answer).read_bytes()
        pytest.fail(f"no fixture for {url}")

    @property
    def urls(self) -> list[str]:
        return [r.full_url for r in self.requests]


def http_error(code: int, reason: str = "Unauthorized") -> urllib.error.HTTPError:
    return urllib.error.HTTPError("https://x.invalid/", code, reason, {}, None)  # type: ignore[arg-type]


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class WallClock:
    """An aware UTC wall clock moved by hand."""

    now: datetime = datetime(2024, 3, 1, 13, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


T0 = datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)
