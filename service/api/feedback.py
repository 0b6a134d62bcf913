"""``POST /cds-services/{id}/feedback``: store what the clinician did with our cards (spec J)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import Authenticated, State
from service.api.hooks import check_service
from service.api.parsing import parse_json, validate_body
from service.cdshooks.models import FeedbackRequest
from service.errors import DatabaseUnavailable, PayloadTooLarge
from service.metrics import record_card_outcomes, record_feedback
from service.storage.db import run_bounded

router = APIRouter()
log = structlog.get_logger("service.feedback")


@router.post(
    "/cds-services/{service_id}/feedback",
    dependencies=[Authenticated],
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/FeedbackRequest"}}}}},
)
async def feedback(service_id: str, request: Request, state: State) -> Response:
    check_service(state, service_id)
    request.state.service_id = service_id
    raw = parse_json(await request.body(), state.settings.max_json_depth)
    items, cap = raw.get("feedback"), state.settings.feedback_max_items
    if isinstance(items, list) and len(items) > cap:
        # Counted before validation: 40,000 items would otherwise be validated, held and inserted at once.
        raise PayloadTooLarge(f"at most {cap} feedback items per request; send the rest in further requests")
    body = validate_body(raw, FeedbackRequest)
    request.state.hook_instance = body.hook_instance
    timeout = state.settings.database_statement_timeout_seconds
    new = await run_bounded(timeout, state.feedback.add, service_id, body.feedback, body.hook_instance)
    record_feedback([item.outcome for item in body.feedback], new)
    if state.card_log is not None:
        # Outcomes by tier are metrics only: the items are stored, so a failed look-up must not fail the POST.
        try:
            # Bounded: tiers_of first flushes the card batch, which must not hold the POST past the timeout.
            tiers = await run_bounded(timeout, state.card_log.tiers_of, service_id, [i.card for i in body.feedback])
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.warning("feedback.tier_lookup_failed", error_type=type(exc).__name__)
        else:
            record_card_outcomes([(tiers.get(item.card), item.outcome) for item in body.feedback])
    # 200 with no body (decision J7): an empty JSON object would break A2.
    return Response(status_code=200)
