"""Prepared statements (issue 17, prepared.py): same rows as Core, same pool, same errors, on both back-ends."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError

from service.errors import DatabaseUnavailable
from service.storage.cards import CardLog, IssuedCard
from service.storage.db import make_engine, run_bounded
from service.storage.migrate import upgrade
from service.storage.replay import DatabaseReplayCache
from service.storage.schema import feedback, issued_card
from tests.support.engine import knowledge

T0 = datetime(2026, 6, 1, 9, 0, 0, 123456, tzinfo=UTC)
SERVICE = "back-pain-red-flags"


def _card(uuid: str, tier: str = "C4") -> IssuedCard:
    return IssuedCard(SERVICE, uuid, tier, T0, [("s-1", "mri")], "v1")


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine  # type: ignore[misc]
    engine.dispose()


def test_a_prepared_insert_stores_what_core_stores(engine: Engine, database_url: str, tmp_path: Path) -> None:
    policy = knowledge().feedback
    CardLog(engine).issue(_card("prepared"), "key-1", ["key-1"], policy)
    with engine.begin() as conn:
        conn.execute(insert(issued_card).values(
            service_id=SERVICE, card_uuid="core", tier="C4", issued_at=T0, suggestions='[["s-1","mri"]]',
            knowledge_version="v1", patient_key="key-1", snoozed=False,
        ))
    with engine.connect() as conn:
        rows = {r.card_uuid: r for r in conn.execute(select(issued_card))}
    prepared, core = rows["prepared"], rows["core"]
    for column in ("tier", "issued_at", "suggestions", "knowledge_version", "patient_key", "snoozed"):
        assert getattr(prepared, column) == getattr(core, column), column
    if engine.dialect.name == "sqlite":  # the stored text itself, which the snooze and report compare
        raw = sqlite3.connect(engine.url.database or "")
        try:
            stamps = dict(raw.execute("SELECT card_uuid, issued_at FROM issued_card").fetchall())
        finally:
            raw.close()
        assert stamps["prepared"] == stamps["core"] == "2026-06-01 09:00:00.123456"
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_retried_card_keeps_its_first_verdict_and_the_snooze_form_is_cached(engine: Engine) -> None:
    policy = knowledge().feedback
    log = CardLog(engine)
    assert log.issue(_card("first"), "key-new", ["key-new", "key-old"], policy) is False
    # A snooze given on an earlier card recorded under the previous secret's key.
    log.issue(_card("earlier"), "key-old", ["key-old"], policy)
    with engine.begin() as conn:
        conn.execute(insert(feedback).values(
            dedupe_key="d-1", service_id=SERVICE, card_uuid="earlier", outcome="overridden",
            override_system=policy.snooze_system, override_code=policy.snooze_code,
            outcome_timestamp=T0, received_at=T0,
        ))
    assert log.issue(_card("first"), "key-new", ["key-new", "key-old"], policy) is False  # its first verdict
    assert log.issue(_card("next"), "key-new", ["key-new", "key-old"], policy) is True
    covering = len([t for t in policy.tiers_at_least_as_urgent("C4") if policy.can_be_snoozed(t)])
    statements = log._statements
    assert statements.snoozable(2, covering) is statements.snoozable(2, covering)
    assert statements.snoozable(1, covering) is not statements.snoozable(2, covering)


def test_the_replay_statement_accepts_once_and_returns_its_connection(engine: Engine) -> None:
    now = T0.timestamp()
    cache = DatabaseReplayCache(engine, clock=lambda: now)
    expires = (T0 + timedelta(minutes=5)).timestamp()
    assert cache.check_and_store_sync("j-1", "iss", expires) is True
    assert cache.check_and_store_sync("j-1", "iss", expires) is False
    assert cache.check_and_store_sync("j-1", "other-iss", expires) is True
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_locked_sqlite_gives_sqlalchemys_error_then_a_503(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    engine = make_engine(url, statement_timeout=0.1)
    upgrade(engine)
    cache = DatabaseReplayCache(engine, timeout=5)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            cache.check_and_store_sync("j-1", "iss", T0.timestamp())
        with pytest.raises(DatabaseUnavailable):
            asyncio.run(run_bounded(5, CardLog(engine).issue, _card("c"), "k", ["k"], knowledge().feedback))
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cache.check_and_store_sync("j-1", "iss", T0.timestamp()) is True  # the pooled connection still works
    engine.dispose()
