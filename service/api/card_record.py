"""Between the engine and the response: record the card and drop it when the clinician snoozed it.

One database statement per card (``CardLog.issue``), in a worker thread. Only a tier that can be snoozed
(``cards/feedback.json``: the info tiers) waits for it, because the answer depends on it; any other card is
answered first and recorded right after the response is sent (a Starlette background task), so the database
never adds latency to an urgent card.

A storage error never costs the clinician the card in development: it is logged and counted and the card is
answered. In production (``card_record_strict``, on by default there) an error on the waiting path fails the
request like the replay cache and the feedback store do; after the answer is sent it can only be logged and
counted (alert ``BackpainCdsCardRecordFailing``).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from service.api.deps import AppState
from service.cdshooks.models import Card, HookRequest
from service.knowledge.feedback_spec import FeedbackKnowledge
from service.metrics import card_record_failed, card_snoozed
from service.storage.cards import CardLog, IssuedCard

log = structlog.get_logger("service.cards")


def _failed(exc: Exception, tier: str) -> None:
    card_record_failed()
    log.error("cards.record_failed", error_type=type(exc).__name__, tier=tier)


async def _record_after_answer(
    card_log: CardLog, issued: IssuedCard, key: str | None, candidates: list[str], policy: FeedbackKnowledge
) -> None:
    try:
        await run_in_threadpool(card_log.issue, issued, key, candidates, policy)
    except SQLAlchemyError as exc:
        _failed(exc, issued.tier)


async def record_and_filter(
    state: AppState, request: Request, hook_request: HookRequest, tier: str, cards: list[Card], now: datetime
) -> tuple[list[Card], BackgroundTask | None]:
    """The cards to answer (``cards`` unless a snooze holds the card back), and a task to run after it."""
    if state.card_log is None or state.patient_keys is None or not cards:
        return cards, None
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
    key, candidates = state.patient_keys.current(issuer, patient), state.patient_keys.candidates(issuer, patient)
    if not policy.can_be_snoozed(tier):
        return cards, BackgroundTask(_record_after_answer, state.card_log, issued, key, candidates, policy)
    try:
        snoozed = await run_in_threadpool(state.card_log.issue, issued, key, candidates, policy)
    except SQLAlchemyError as exc:
        _failed(exc, tier)
        if state.settings.card_record_must_succeed:
            raise
        return cards, None
    if snoozed:
        card_snoozed(tier)
        request.state.snoozed = True
        return [], None
    return cards, None
