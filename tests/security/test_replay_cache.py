"""InMemoryReplayCache: once per (iss, jti), forgets after expiry, bounded and failing closed."""

from __future__ import annotations

from service.security.replay import InMemoryReplayCache, ReplayCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_K11_jti_accepted_once_per_issuer() -> None:
    cache: ReplayCache = InMemoryReplayCache(clock=FakeClock())
    assert await cache.check_and_store("j1", "iss-a", 2000.0) is True
    assert await cache.check_and_store("j1", "iss-a", 2000.0) is False
    assert await cache.check_and_store("j1", "iss-b", 2000.0) is True  # jti is unique per issuer only


async def test_K11_entries_forgotten_after_expiry() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock)
    assert await cache.check_and_store("j1", "iss", 1100.0)
    assert await cache.check_and_store("j2", "iss", 5000.0)
    clock.now = 1100.0
    assert await cache.check_and_store("j3", "iss", 5000.0)
    assert len(cache) == 2  # j1 purged, j2 and j3 kept
    assert await cache.check_and_store("j2", "iss", 5000.0) is False


async def test_K11_full_cache_fails_closed_until_entries_expire() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(max_entries=2, clock=clock)
    assert await cache.check_and_store("j1", "iss", 1500.0)
    assert await cache.check_and_store("j2", "iss", 1500.0)
    assert await cache.check_and_store("j3", "iss", 1500.0) is False
    clock.now = 1500.0
    assert await cache.check_and_store("j3", "iss", 2000.0) is True
