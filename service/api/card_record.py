"""Between the engine and the response: record the card and drop it when the clinician snoozed it.

One database statement per card (``CardLog.issue``), in a worker thread. A storage error never costs the
clinician the card in development: it is logged and counted and the card is answered. In production
(``card_record_strict``, on by default there) it fails the request like the replay cache and the feedback
store do, because a deployment whose database fails is broken for every replica and should be seen to be.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from service.api.deps import AppState
from service.cdshooks.models import Card, HookRequest
from service.metrics import card_record_failed, card_snoozed
from service.storage.cards import IssuedCard

log = structlog.get_logger("service.cards")


async def record_and_filter(
    state: AppState, request: Request, hook_request: HookRequest, tier: str, cards: list[Card], now: datetime
) -> list[Card]:
    """The cards to answer: ``cards`` unless a snooze in force holds the (single) card back."""
    if state.card_log is None or state.patient_keys is None or not cards:
        return cards
    card = cards[0]
    policy = state.knowledge.feedback
    issued = IssuedCard(
        service_id=state.knowledge.service.id,
        card_uuid=card.uuid or "",
        tier=tier,
        issued_at=now,
        suggestions=[(s.uuid or "", policy.suggestion_kind(s)) for s in card.suggestions],
        knowledge_version=state.knowledge.version,
    )
    issuer = getattr(request.state, "jwt_iss", None)
    patient = hook_request.context.patient_id
    keys = state.patient_keys
    try:
        snoozed = await run_in_threadpool(
            state.card_log.issue, issued, keys.current(issuer, patient), keys.candidates(issuer, patient), policy
        )
    except SQLAlchemyError as exc:
        card_record_failed()
        log.error("cards.record_failed", error_type=type(exc).__name__, tier=tier)
        if state.settings.card_record_must_succeed:
            raise
        return cards
    if snoozed:
        card_snoozed(tier)
        request.state.snoozed = True
        return []
    return cards
