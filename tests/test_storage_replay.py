"""The database replay cache on SQLite and PostgreSQL: once per (iss, jti), expiry, clean-up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from service.storage.db import make_engine
from service.storage.migrate import upgrade
from service.storage.replay import DatabaseReplayCache
from service.storage.schema import replay_cache


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(replay_cache)).scalar_one())


async def test_a_jti_is_accepted_once_per_issuer(engine: Engine) -> None:
    cache = DatabaseReplayCache(engine, clock=lambda: 1000.0)
    assert await cache.check_and_store("j1", "https://ehr-a", 2000.0) is True
    assert await cache.check_and_store("j1", "https://ehr-a", 2000.0) is False
    assert await cache.check_and_store("j1", "https://ehr-b", 2000.0) is True
    assert await cache.check_and_store("j2", "https://ehr-a", 2000.0) is True
    assert _rows(engine) == 3


async def test_an_expired_entry_counts_as_absent_like_the_in_memory_cache(engine: Engine) -> None:
    now = [1000.0]
    cache = DatabaseReplayCache(engine, clock=lambda: now[0])
    assert await cache.check_and_store("j1", "iss", 1500.0) is True
    now[0] = 1499.0
    assert await cache.check_and_store("j1", "iss", 3000.0) is False
    now[0] = 1500.0
    assert await cache.check_and_store("j1", "iss", 3000.0) is True
    now[0] = 2000.0
    assert await cache.check_and_store("j1", "iss", 3000.0) is False


async def test_concurrent_presentations_of_one_token_accept_exactly_one(engine: Engine) -> None:
    caches = [DatabaseReplayCache(engine) for _ in range(4)]
    results = await asyncio.gather(
        *(cache.check_and_store("same", "iss", 4_000_000_000.0) for cache in caches for _ in range(5))
    )
    assert sorted(results) == [False] * 19 + [True]


async def test_expired_rows_are_deleted_every_n_inserts(engine: Engine) -> None:
    now = [1000.0]
    cache = DatabaseReplayCache(engine, purge_every=5, clock=lambda: now[0])
    for index in range(4):
        assert await cache.check_and_store(f"old-{index}", "iss", 1100.0)
    now[0] = 1200.0
    assert _rows(engine) == 4
    assert await cache.check_and_store("new", "iss", 5000.0)  # the fifth insert purges
    assert _rows(engine) == 1
    assert cache.purge_expired() == 0
