"""The order-select / order-sign services: the same plumbing as patient-view, a different context and answer.

Called from ``service.api.hooks.invoke`` once the service id is known to be an order service, after
authentication, so JWT, CORS, body limits, the error contract, the access log and metrics are shared.
Every card is written to the card record (issue 18) after the answer is sent, under this service's id, so
feedback posted to this service's ``/feedback`` joins it; an order card is never held back by a snooze
(``service.api.card_record``).
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from service.api.card_record import record_and_filter
from service.api.deps import AppState
from service.api.parsing import parse_body
from service.cdshooks.models import OrderHookResponse, OrderSelectRequest, OrderSignRequest, wire_json
from service.errors import InvalidRequest
from service.fhir.client import FhirClient
from service.gather import gather
from service.order_engine import evaluate_orders

MODELS: dict[str, type[OrderSignRequest] | type[OrderSelectRequest]] = {
    "order-select": OrderSelectRequest,
    "order-sign": OrderSignRequest,
}


async def answer_order_hook(request: Request, state: AppState, service_id: str, hook: str) -> Response:
    """Validate the order context, gather the patient's data, decide about each draft in scope."""
    hook_request = parse_body(await request.body(), MODELS[hook], state.settings.max_json_depth)
    request.state.hook_instance = hook_request.hook_instance
    if hook_request.hook != hook:
        raise InvalidRequest(f"service '{service_id}' answers the '{hook}' hook, not '{hook_request.hook}'")
    client = FhirClient.for_invocation(state.http, state.settings)
    now = state.clock()
    record = await gather(hook_request, state.knowledge.service, state.settings, client, now)
    result = evaluate_orders(
        record, hook_request.context.in_scope(), state.knowledge, now, hook_request.hook_instance, hook
    )
    # "order/<patient tier>": the log keeps the tier, and the cards metric and the card record keep order
    # cards apart from chart cards so the per-tier figures (and alerts on them) still count chart cards only.
    tier = f"order/{result.tier or 'none'}"
    cards = await record_and_filter(
        state, request, hook_request, tier, result.cards, now, service_id=service_id, hook=hook
    )
    request.state.tier = tier
    request.state.cards = len(cards)
    answer = OrderHookResponse.answer(cards, result.system_actions)
    return Response(wire_json(answer), media_type="application/json")
