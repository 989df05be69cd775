"""The on-disk bin cache: hits, expiry (injected clock), corruption, atomic writes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.carbon.providers.conftest import T0, FakeOpener, WallClock
from wattprint.carbon.providers import get_provider
from wattprint.carbon.providers.base import Bin
from wattprint.carbon.providers.cache import BinCache, CachedProvider
from wattprint.carbon.providers.neso import NesoProvider

H = timedelta(hours=1)


def _cached(tmp_path: Path, wall: WallClock) -> tuple[CachedProvider, FakeOpener]:
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    return CachedProvider(NesoProvider(opener=opener), BinCache(tmp_path, wall)), opener


def test_hit_needs_no_request(tmp_path: Path, wall: WallClock) -> None:
    provider, opener = _cached(tmp_path, wall)
    first = provider.history("GB", T0, T0 + 2 * H)
    second = provider.history("GB", T0, T0 + 2 * H)
    assert first == second and len(first) == 3
    assert len(opener.requests) == 1
    assert provider.history("GB", T0 + H, T0 + 2 * H) == first[2:]  # sub-range from cache
    assert len(opener.requests) == 1


def test_recent_hours_expire_after_an_hour(tmp_path: Path, wall: WallClock) -> None:
    provider, opener = _cached(tmp_path, wall)
    provider.history("GB", T0, T0 + 2 * H)
    wall.advance(minutes=59)
    provider.history("GB", T0, T0 + 2 * H)
    assert len(opener.requests) == 1
    wall.advance(minutes=2)
    provider.history("GB", T0, T0 + 2 * H)
    assert len(opener.requests) == 2


def test_settled_hours_are_kept(tmp_path: Path, wall: WallClock) -> None:
    wall.now = T0 + timedelta(days=5)
    provider, opener = _cached(tmp_path, wall)
    provider.history("GB", T0, T0 + H)
    wall.advance(days=10)
    provider.history("GB", T0, T0 + H)
    assert len(opener.requests) == 1
    wall.advance(days=21)
    provider.history("GB", T0, T0 + H)
    assert len(opener.requests) == 2


def test_gap_hours_are_refetched_soon_even_when_old(tmp_path: Path, wall: WallClock) -> None:
    wall.now = T0 + timedelta(days=5)
    provider, opener = _cached(tmp_path, wall)
    provider.history("GB", T0 + 5 * H, T0 + 6 * H)  # fixture has nothing there
    wall.advance(minutes=61)
    provider.history("GB", T0 + 5 * H, T0 + 6 * H)
    assert len(opener.requests) == 2


def test_forecasts_expire_after_30_minutes(tmp_path: Path, wall: WallClock) -> None:
    provider, opener = _cached(tmp_path, wall)
    provider.forecast("GB", T0, T0 + H)
    wall.advance(minutes=29)
    provider.forecast("GB", T0, T0 + H)
    assert len(opener.requests) == 1
    wall.advance(minutes=2)
    provider.forecast("GB", T0, T0 + H)
    assert len(opener.requests) == 2


def test_only_missing_hours_are_fetched(tmp_path: Path, wall: WallClock) -> None:
    provider, opener = _cached(tmp_path, wall)
    provider.history("GB", T0, T0 + H)
    provider.history("GB", T0, T0 + 3 * H)
    assert opener.urls[1].endswith("/2024-03-01T11:00Z/2024-03-01T13:00Z")


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        "[]",
        '{"version": 1}',
        '{"version": 1, "fetched_at": "2024-03-01T13:00Z", "bins": [{"start": 1}]}',
        '{"version": 99, "fetched_at": "2024-03-01T13:00Z", "bins": []}',
        "\x00\xff",
    ],
)
def test_corrupted_files_are_ignored_and_replaced(
    tmp_path: Path, wall: WallClock, content: str
) -> None:
    provider, opener = _cached(tmp_path, wall)
    provider.history("GB", T0, T0 + H)
    path = provider.cache.path("neso", "GB", "historical", T0)
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    bins = provider.history("GB", T0, T0 + H)
    assert len(opener.requests) == 2 and len(bins) == 2
    assert json.loads(path.read_text())["version"] == 1


def test_unwritable_cache_does_not_fail(tmp_path: Path, wall: WallClock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    provider = CachedProvider(NesoProvider(opener=opener), BinCache(blocker / "sub", wall))
    assert len(provider.history("GB", T0, T0 + H)) == 2


def test_atomic_writes_leave_no_temporaries(tmp_path: Path, wall: WallClock) -> None:
    cache = BinCache(tmp_path, wall)
    b = Bin(T0, T0 + H, 100.0, "x")
    for _ in range(3):
        cache.put("p", "Z/../evil", "historical", T0, [b])
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".tmp")
    assert tmp_path in files[0].parents  # zone names cannot escape the cache dir
    assert cache.get("p", "Z/../evil", "historical", T0) == [b]


def test_get_provider_caches_in_given_dir(tmp_path: Path, wall: WallClock) -> None:
    opener = FakeOpener({"/intensity/": "neso_national.json"})
    provider = get_provider("neso", cache_dir=tmp_path, opener=opener, clock=wall)
    provider.history("GB", T0, T0 + H)
    provider.history("GB", T0, T0 + H)
    assert len(opener.requests) == 1
    assert any(tmp_path.rglob("*.json"))


def test_default_dir_is_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda name: str(tmp_path / name))
    path = BinCache().path("neso", "GB", "forecast", T0)
    assert path == tmp_path / "wattprint" / "intensity" / "neso" / "GB" / "forecast" / (
        "20240301T10.json"
    )
