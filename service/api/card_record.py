"""Between the engine and the response: record the cards and drop them when the clinician snoozed them.

Only a card that offers the snooze (``cards/feedback.json``: the info tiers of patient-view) waits for its
record, one statement per card (``CardLog.issue``) in a database thread, because the answer depends on it.
Any other card is answered first and recorded after the response, in a batch by the card log's writer
thread (``CardLog.issue_later``, ``storage/card_batch.py``), so the database never adds latency, nor a
thread hop, to an urgent card.

Order-select / order-sign cards (issue 19) are recorded under their own service id and the tier label
``order/<patient tier>`` (``order/none`` for the early-imaging card), so the report, the outcome metrics and
the snooze keep them apart from chart cards. They are never held back: a snooze given at chart opening means
"I know about these red flags", not "do not warn me when I order the wrong study", and feedback.json refuses
a snooze offered on an order hook. Their feedback joins them by (service id, card uuid) like any other.

A storage error never costs the clinician the card in development: it is logged and counted and the card is
answered. In production (``card_record_strict``, on by default there) an error or a timeout on the waiting path
fails the request like the replay cache and the feedback store do (503 for a database that is unavailable or does
not answer within the statement timeout, through ``run_bounded``); after the answer is sent it can only be logged and
counted (alert ``BackpainCdsCardRecordFailing``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from service.api.deps import AppState
from service.cdshooks.models import Card, HookRequest
from service.errors import DatabaseUnavailable
from service.metrics import card_record_failed, card_snoozed
from service.storage.cards import IssuedCard
from service.storage.db import run_bounded

log = structlog.get_logger("service.cards")


def _failed(exc: Exception, tier: str) -> None:
    card_record_failed()
    log.error("cards.record_failed", error_type=type(exc).__name__, tier=tier)


# What the card record keeps of one card: its uuid and each suggestion's (uuid, kind).
CardParts = tuple[str, list[tuple[str, str]]]


async def record_and_filter(
    state: AppState,
    request: Request,
    hook_request: HookRequest,
    tier: str,
    cards: list[Card],
    now: datetime,
    *,
    service_id: str | None = None,
    hook: str | None = None,
) -> list[Card]:
    """The cards to answer: ``cards`` unless a snooze holds them back.

    ``service_id`` and ``hook`` default to the patient-view service; the order services pass theirs. Every
    card is recorded with ``tier``.
    """
    policy = state.knowledge.feedback
    parts = [(card.uuid or "", [(s.uuid or "", policy.suggestion_kind(s)) for s in card.suggestions])
             for card in cards]
    shown = await _record(state, request, hook_request, tier, parts, now, service_id, hook)
    return [card for card, keep in zip(cards, shown, strict=True) if keep]


async def record_and_filter_wire(
    state: AppState, request: Request, hook_request: HookRequest, tier: str, cards: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """:func:`record_and_filter` for the patient-view engine's cards in wire form (answered without models)."""
    policy = state.knowledge.feedback
    parts: list[CardParts] = []
    for card in cards:
        suggestions = card.get("suggestions") or ()
        parts.append((card.get("uuid") or "", [(s.get("uuid") or "", policy.wire_suggestion_kind(s))
                                               for s in suggestions]))
    shown = await _record(state, request, hook_request, tier, parts, now, None, None)
    return [card for card, keep in zip(cards, shown, strict=True) if keep]


async def _record(
    state: AppState,
    request: Request,
    hook_request: HookRequest,
    tier: str,
    cards: list[CardParts],
    now: datetime,
    service_id: str | None,
    hook: str | None,
) -> list[bool]:
    """Records ``cards``; for each, whether it is shown (False: a snooze in force holds it back)."""
    if state.card_log is None or state.patient_keys is None or not cards:
        return [True] * len(cards)
    policy = state.knowledge.feedback
    service_id = service_id or state.knowledge.service.id
    hook = hook or state.knowledge.service.hook
    issued = [
        IssuedCard(
            service_id=service_id,
            card_uuid=card_uuid,
            tier=tier,
            issued_at=now,
            suggestions=suggestions,
            knowledge_version=state.knowledge.version,
        )
        for card_uuid, suggestions in cards
    ]
    issuer = getattr(request.state, "jwt_iss", None)
    patient = hook_request.context.patient_id
    if not (policy.snooze_offered(hook, tier) and policy.can_be_snoozed(tier)):
        # Written in a batch after the answer (card_batch.py): nothing in the answer depends on it.
        state.card_log.issue_later(issued, state.patient_keys.current(issuer, patient))
        return [True] * len(cards)
    candidates = state.patient_keys.candidates(issuer, patient)
    key = candidates[0] if state.patient_keys.enabled else None  # the current key comes first: one HMAC less
    timeout = state.settings.database_statement_timeout_seconds
    shown: list[bool] = []
    for record in issued:
        try:
            # Bounded like the replay cache: a hung database gives 503 (strict) or an unrecorded card, not a hang.
            snoozed = await run_bounded(timeout, state.card_log.issue, record, key, candidates, policy)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            _failed(exc, tier)
            if state.settings.card_record_must_succeed:
                raise
            snoozed = False
        if snoozed:
            card_snoozed(tier)
            request.state.snoozed = True
        shown.append(not snoozed)
    return shown
