"""The card log's statements, compiled once per engine (issue 17, ``prepared.py``).

The snooze look-up takes the patient's candidate keys (one per secret, current first) and the tiers a snooze
covers. An expanding ``IN`` would be re-rendered on every call; instead there is one compiled form per
(number of keys, number of tiers), made on first use and kept: a deployment has a handful of each.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, bindparam, exists, false, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.storage.prepared import Prepared
from service.storage.schema import feedback, issued_card


def key_name(index: int) -> str:
    return f"p_key_{index}"


def tier_name(index: int) -> str:
    return f"p_tier_{index}"


class CardStatements:
    """Compiled card statements for one engine; compiled lazily (the dialect knows its server after a connect)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._lock = threading.Lock()
        self._cache: dict[object, Prepared] = {}

    def _get(self, key: object, build: Any) -> Prepared:
        prepared = self._cache.get(key)
        if prepared is None:
            with self._lock:
                prepared = self._cache.get(key)
                if prepared is None:
                    prepared = self._cache[key] = Prepared(self.engine, build())
        return prepared

    def plain(self) -> Prepared:
        """INSERT ... RETURNING snoozed, never snoozed (no key or no covering tier)."""
        return self._get("plain", lambda: self._insert_returning(false()))

    def snoozable(self, keys: int, tiers: int) -> Prepared:
        """INSERT ... RETURNING snoozed, snoozed computed by EXISTS over ``keys`` keys and ``tiers`` tiers."""
        return self._get(("snoozable", keys, tiers), lambda: self._insert_returning(_snooze_in_force(keys, tiers)))

    def first_verdict(self) -> Prepared:
        """The verdict recorded the first time (a retried hook instance)."""
        return self._get(
            "first_verdict",
            lambda: select(issued_card.c.snoozed).where(
                issued_card.c.service_id == bindparam("p_service_id"),
                issued_card.c.card_uuid == bindparam("p_card_uuid"),
            ),
        )

    def _insert_returning(self, snoozed: ColumnElement[bool]) -> Any:
        return (
            self._insert(issued_card)
            .values(
                service_id=bindparam("p_service_id"),
                card_uuid=bindparam("p_card_uuid"),
                tier=bindparam("p_tier"),
                issued_at=bindparam("p_issued_at"),
                suggestions=bindparam("p_suggestions"),
                knowledge_version=bindparam("p_knowledge_version"),
                patient_key=bindparam("p_patient_key"),
                snoozed=snoozed,
            )
            .on_conflict_do_nothing(index_elements=["service_id", "card_uuid"])
            .returning(issued_card.c.snoozed)
        )


def _snooze_in_force(keys: int, tiers: int) -> ColumnElement[bool]:
    """A snooze in force: an overridden item with the snooze reason on an earlier card of a covering tier."""
    earlier = issued_card.alias("earlier")
    key_type, tier_type = issued_card.c.patient_key.type, issued_card.c.tier.type
    return exists(
        select(earlier.c.id)
        .join(
            feedback,
            and_(feedback.c.card_uuid == earlier.c.card_uuid, feedback.c.service_id == earlier.c.service_id),
        )
        .where(
            earlier.c.patient_key.in_([bindparam(key_name(i), type_=key_type) for i in range(keys)]),
            earlier.c.service_id == bindparam("p_service_id"),
            earlier.c.tier.in_([bindparam(tier_name(i), type_=tier_type) for i in range(tiers)]),
            feedback.c.outcome == "overridden",
            feedback.c.override_system == bindparam("p_snooze_system"),
            feedback.c.override_code == bindparam("p_snooze_code"),
            feedback.c.outcome_timestamp > bindparam("p_since"),
            feedback.c.outcome_timestamp <= bindparam("p_until"),
        )
    )
