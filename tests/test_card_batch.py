"""Cards that need no snooze verdict are written after the answer, in batches (issue 17, card_batch.py).

What must hold: such a card still reaches the table (at the latest by the shutdown flush), the card log's reads
see it, a retried hook instance keeps its first row, a hung or failing database costs counted cards and never
a blocked request or a dead writer, and the snoozable tiers are still written before their answer.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from service.storage import card_batch
from service.storage.card_batch import BatchWriter
from service.storage.cards import CardLog, IssuedCard
from service.storage.db import make_engine
from service.storage.migrate import upgrade
from tests.support.app import SERVICE_URL, client_for, settings_for
from tests.support.closed_loop import MovingClock, case_for, hook_body, issued_rows
from tests.support.engine import knowledge

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
FAILURES = "backpain_cds_card_record_failures_total"


def _failures() -> float:
    return REGISTRY.get_sample_value(FAILURES) or 0.0


def _card(uuid: str, tier: str = "C1", version: str = "v1") -> IssuedCard:
    return IssuedCard("back-pain-red-flags", uuid, tier, T0, [("s-1", "mri")], version)


def _post(client: Any, tier: str, instance: str) -> list[dict[str, Any]]:
    body = hook_body(case_for(tier), knowledge().service, "batch-pat", T0, instance)
    response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def test_an_urgent_card_is_written_after_its_answer_and_a_snoozable_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a writer that waits a minute for a fuller batch, only the shutdown flush writes the C1 card."""
    monkeypatch.setattr(card_batch, "MAX_WAIT", 60.0)
    settings = settings_for(tmp_path)
    with client_for(settings, clock=MovingClock(T0), knowledge=knowledge()) as client:
        [urgent] = _post(client, "C1", "hi-batch-1")
        [info] = _post(client, "C4", "hi-batch-2")
        assert [r["card_uuid"] for r in issued_rows(settings.database_url)] == [info["uuid"]]
    assert {r["card_uuid"] for r in issued_rows(settings.database_url)} == {urgent["uuid"], info["uuid"]}


def test_the_card_logs_reads_flush_the_batch_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_batch, "MAX_WAIT", 60.0)
    with client_for(settings_for(tmp_path), clock=MovingClock(T0), knowledge=knowledge()) as client:
        [urgent] = _post(client, "C1", "hi-read-1")
        card_log: CardLog = client.app.state.backpain.card_log  # type: ignore[attr-defined]
        assert card_log.tiers_of("back-pain-red-flags", [urgent["uuid"]]) == {urgent["uuid"]: "C1"}
        [_] = _post(client, "C2", "hi-read-2")
        assert [r["tier"] for r in card_log.cards_between(None, None)] == ["C1", "C2"]


def test_a_card_recorded_twice_keeps_its_first_row(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        log = CardLog(engine)
        log.issue_later([_card("u-1", version="first")], "key")
        assert log.flush(5)
        log.issue_later([_card("u-1", version="retried"), _card("u-2")], "key")
        assert log.flush(5)
    finally:
        engine.dispose()
    rows = issued_rows(database_url)
    assert [(r["card_uuid"], r["knowledge_version"], r["snoozed"]) for r in rows] == [
        ("u-1", "first", False), ("u-2", "v1", False)
    ]


def test_a_hung_writer_fills_the_bound_then_drops_and_counts_and_flush_gives_up() -> None:
    release, writing = threading.Event(), threading.Event()
    written: list[int] = []

    def hung(batch: list[int]) -> None:
        writing.set()
        release.wait(10)
        written.extend(batch)

    writer = BatchWriter(hung, max_wait=0.0, bound=5)
    before = _failures()
    with capture_logs() as entries:
        writer.submit([0])
        assert writing.wait(5)
        writer.submit(range(1, 7))  # 0 in flight and 1..4 waiting make 5: 5 and 6 are dropped
        writer.submit([7])
    assert _failures() == before + 3
    assert [e["event"] for e in entries] == ["cards.record_dropped"]  # once for the whole episode
    assert writer.flush(0.05) is False
    release.set()
    assert writer.flush(5) is True
    assert written == [0, 1, 2, 3, 4]
    with capture_logs() as entries:
        writer.submit(range(6))  # drained since: a new episode is logged again
    assert [e["event"] for e in entries] == ["cards.record_dropped"]
    assert writer.flush(5)


def test_a_failed_batch_is_counted_card_by_card_and_the_writer_goes_on() -> None:
    fail = True
    written: list[str] = []

    def write(batch: list[str]) -> None:
        if fail:
            raise RuntimeError("database is locked")
        written.extend(batch)

    writer = BatchWriter(write, describe=str.upper, max_wait=0.0)
    before = _failures()
    with capture_logs() as entries:
        writer.submit(["c1", "c2", "c1"])
        assert writer.flush(5)
    assert _failures() == before + 3
    [entry] = [e for e in entries if e["event"] == "cards.record_failed"]
    assert entry["cards"] == 3 and entry["tiers"] == ["C1", "C2"] and entry["error_type"] == "RuntimeError"
    fail = False
    writer.submit(["c3"])
    assert writer.flush(5) and written == ["c3"]


def test_the_writer_thread_leaves_when_idle_and_starts_again() -> None:
    written: list[str] = []
    writer = BatchWriter(written.extend, max_wait=0.0, idle_exit=0.01)
    writer.submit(["a"])
    assert writer.flush(5)
    left = threading.Event()
    for _ in range(500):  # bounded wait for the thread to leave (a state, not a timing)
        if not writer.running:
            left.set()
            break
        left.wait(0.01)
    assert left.is_set()
    writer.submit(["b"])
    assert writer.running
    assert writer.flush(5) and written == ["a", "b"]


def test_a_batch_waits_for_more_cards_but_a_flush_does_not_wait_for_it() -> None:
    batches: list[list[int]] = []
    writer = BatchWriter(batches.append, max_wait=60.0, max_batch=3)
    writer.submit([1, 2, 3, 4])  # a full batch goes at once; the fourth waits for company
    writer.submit([5])
    assert writer.flush(5)
    assert batches == [[1, 2, 3], [4, 5]]
