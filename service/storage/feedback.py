"""Stores CDS Hooks feedback items; the same item posted twice is stored once (spec J4)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.cdshooks.models import FeedbackItem
from service.storage.schema import feedback


def _row(service_id: str, item: FeedbackItem, hook_instance: str | None) -> dict[str, Any]:
    accepted = sorted(s.id for s in item.accepted_suggestions or [])
    reason = item.override_reason.reason if item.override_reason else None
    comment = item.override_reason.user_comment if item.override_reason else None
    stamp = item.outcome_timestamp
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    canonical = json.dumps(
        [service_id, item.card, item.outcome, accepted, reason.system if reason else None,
         reason.code if reason else None, comment, stamp.astimezone(UTC).isoformat()],
        separators=(",", ":"),
    )
    return {
        "dedupe_key": hashlib.sha256(canonical.encode()).hexdigest(),
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": json.dumps(accepted) if accepted else None,
        "override_system": reason.system if reason else None,
        "override_code": reason.code if reason else None,
        "override_display": reason.display if reason else None,
        "user_comment": comment,
        # In UTC: SQLite keeps no offset, and the snooze look-up compares these with UTC times.
        "outcome_timestamp": stamp.astimezone(UTC),
        "hook_instance": hook_instance,
        "received_at": datetime.now(UTC),
    }


class FeedbackStore:
    """Feedback persistence over any SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert

    def add(self, service_id: str, items: list[FeedbackItem], hook_instance: str | None = None) -> int:
        """Store ``items`` in one transaction; returns how many were new."""
        rows = [_row(service_id, item, hook_instance) for item in items]
        stmt = (
            self._insert(feedback)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(feedback.c.id)
        )
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg 3 under SQLAlchemy 2.1 reports -1 for ON CONFLICT inserts.
            return len(conn.execute(stmt).all())

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback)).scalar_one())

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(feedback).order_by(feedback.c.id))]
