"""The record of every card issued, and the snooze check, in one INSERT per card (issue 18).

The row's ``snoozed`` value is computed by the database in the same statement, from the patient's earlier
cards and their feedback: ``INSERT ... VALUES (..., EXISTS (snooze in force)) ... RETURNING snoozed``. Every
replica sees the same rows, so a snooze given through one replica holds on all, and after restarts.

A snooze is in force for a card of tier T when an ``overridden`` feedback item with the snooze reason
answers an earlier card of this patient whose tier is T or more urgent, the snooze can be given for both
tiers (``cards/feedback.json``), and the item's ``outcomeTimestamp`` is less than the snooze length ago.
A card of a more urgent tier than every snoozed one breaks through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.knowledge.feedback_spec import FeedbackKnowledge
from service.storage.card_batch import BatchWriter
from service.storage.card_statements import CardStatements, key_name, tier_name
from service.storage.prepared import transaction
from service.storage.schema import feedback, issued_card

# Clock skew tolerated between the EHR's outcomeTimestamp and our clock; a later stamp starts no snooze.
SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedCard:
    """What is recorded about one card: no patient data beyond the keyed hash passed beside it."""

    service_id: str
    card_uuid: str
    tier: str
    issued_at: datetime
    suggestions: Sequence[tuple[str, str]]  # (suggestion uuid, kind)
    knowledge_version: str


def utc(value: datetime) -> datetime:
    """Aware UTC: SQLite hands datetimes back naive (they are stored in UTC), PostgreSQL aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _suggestions_json(card: IssuedCard) -> str:
    """``[[uuid, kind], …]`` as compact JSON, written for every card: orjson, which gives the text
    ``json.dumps`` with compact separators gave for these ASCII values (tests/test_card_record_json.py)."""
    return orjson.dumps([list(s) for s in card.suggestions]).decode()


class CardLog:
    """Card records and snooze look-ups over any SQLAlchemy engine.

    Cards whose answer depends on their record (the snoozable tiers) are written by :meth:`issue` before
    the answer; the others are handed to :meth:`issue_later` and written in batches after it
    (``card_batch.py``). Reads flush those batches first, so a process reads what it wrote.
    """

    def __init__(self, engine: Engine, *, flush_timeout: float = 3.0) -> None:
        self.engine = engine
        self._flush_timeout = flush_timeout
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._later: BatchWriter[tuple[IssuedCard, str | None]] = BatchWriter(
            self._record_many, describe=lambda item: item[0].tier
        )
        self._insert_many = self._insert(issued_card).on_conflict_do_nothing(
            index_elements=["service_id", "card_uuid"]
        )
        # Compiled once per engine and run on a pooled DBAPI connection (issue 17, prepared.py): Core's
        # execute cost more CPU than the statement itself on the waiting path.
        self._statements = CardStatements(engine)

    def issue(
        self,
        card: IssuedCard,
        patient_key: str | None,
        candidates: Sequence[str],
        policy: FeedbackKnowledge,
    ) -> bool:
        """Record ``card``; True when a snooze in force holds it back (the caller then shows nothing).

        The same card uuid (a retried hook instance) is recorded once and keeps its first verdict.
        """
        now = utc(card.issued_at)
        values: dict[str, Any] = {
            "p_service_id": card.service_id,
            "p_card_uuid": card.card_uuid,
            "p_tier": card.tier,
            "p_issued_at": now,
            "p_suggestions": _suggestions_json(card),
            "p_knowledge_version": card.knowledge_version,
            "p_patient_key": patient_key,
        }
        snoozable = policy.snoozable
        covering = [t for t in policy.tiers_at_least_as_urgent(card.tier) if snoozable is None or t in snoozable]
        with transaction(self.engine) as session:
            if candidates and policy.can_be_snoozed(card.tier) and covering:
                statement = self._statements.snoozable(len(candidates), len(covering))
                values.update(
                    {key_name(i): key for i, key in enumerate(candidates)},
                    **{tier_name(i): tier for i, tier in enumerate(covering)},
                    p_snooze_system=policy.snooze_system,
                    p_snooze_code=policy.snooze_code,
                    p_since=now - timedelta(days=policy.snooze_days),
                    p_until=now + SKEW,
                )
            else:
                statement = self._statements.plain()
            row = session.first(statement, values)
            if row is None:  # already recorded: answer as the first time
                row = session.first(self._statements.first_verdict(), values)
        return bool(row[0]) if row is not None else False

    def issue_later(self, cards: Sequence[IssuedCard], patient_key: str | None) -> None:
        """Record ``cards``, which need no snooze verdict (never held back), after the answer, in a batch.

        Only appends to the writer's queue: no database work on the request. A retried hook instance keeps
        its first row (``ON CONFLICT DO NOTHING``); its verdict is always "shown" for these tiers.
        """
        self._later.submit((card, patient_key) for card in cards)

    def _record_many(self, batch: list[tuple[IssuedCard, str | None]]) -> None:
        """One executemany in one transaction for a batch from the writer thread."""
        rows = [
            {
                "service_id": card.service_id,
                "card_uuid": card.card_uuid,
                "tier": card.tier,
                "issued_at": utc(card.issued_at),
                "suggestions": _suggestions_json(card),
                "knowledge_version": card.knowledge_version,
                "patient_key": key,
                "snoozed": False,
            }
            for card, key in batch
        ]
        with self.engine.begin() as conn:
            conn.execute(self._insert_many, rows)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (bounded) until every card handed to :meth:`issue_later` is written; False on timeout."""
        return self._later.flush(self._flush_timeout if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """At shutdown, before the engine is disposed: flush, and log what could not be written in time."""
        if not self.flush(timeout):
            structlog.get_logger("service.cards").error("cards.record_lost_at_shutdown", cards=self._later.waiting)

    def tiers_of(self, service_id: str, card_uuids: Iterable[str]) -> dict[str, str]:
        """The tier of each recorded card among ``card_uuids`` (feedback metrics by tier)."""
        uuids = sorted(set(card_uuids))
        if not uuids:
            return {}
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(issued_card.c.card_uuid, issued_card.c.tier).where(
                    issued_card.c.service_id == service_id, issued_card.c.card_uuid.in_(uuids)
                )
            )
            return {uuid: tier for uuid, tier in rows}

    def cards_between(self, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        """Card rows issued in ``[since, until)`` (either open), oldest first."""
        self.flush()
        query = select(issued_card).order_by(issued_card.c.issued_at, issued_card.c.id)
        if since is not None:
            query = query.where(issued_card.c.issued_at >= utc(since))
        if until is not None:
            query = query.where(issued_card.c.issued_at < utc(until))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def feedback_for(self, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Feedback rows answering the ``(service_id, card_uuid)`` pairs, in the order received."""
        wanted = set(keys)
        if not wanted:
            return []
        self.flush()
        uuids = sorted({uuid for _, uuid in wanted})
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(uuids), 500):  # bounded IN lists
                query = select(feedback).where(feedback.c.card_uuid.in_(uuids[start : start + 500]))
                rows += [dict(r._mapping) for r in conn.execute(query)]
        rows = [r for r in rows if (r["service_id"], r["card_uuid"]) in wanted]
        return sorted(rows, key=lambda r: r["id"])
