"""``POST /cds-services/{id}``: validate, gather the data, run the engine, answer the cards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.api.card_record import record_and_filter_wire
from service.api.deps import AppState, app_state, authenticate
from service.api.order_hooks import answer_order_hook
from service.api.parsing import parse_body
from service.cdshooks.models import HookRequest, HookResponse, response_json
from service.engine import Evaluation, evaluate
from service.errors import InvalidRequest, UnknownService
from service.fhir.client import FhirClient
from service.gather import gather

router = APIRouter()


def check_service(state: AppState, service_id: str) -> str:
    """The hook the service ``service_id`` answers (404 when there is no such service)."""
    hook = state.knowledge.service.hook_of(service_id)
    if hook is None:
        raise UnknownService(f"no CDS service with id '{service_id}'")
    return hook


@router.post(
    "/cds-services/{service_id}",
    response_model=HookResponse,
    openapi_extra={
        "parameters": [{"in": "path", "name": "service_id", "required": True,
                        "schema": {"title": "Service Id", "type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/HookRequest"}}}},
    },
)
async def invoke(request: Request) -> Response:
    # The hot path: authentication, state and the path parameter are read directly rather than through
    # FastAPI's dependency injection, which costs more per request than everything else the framework does
    # (the parameter is documented in ``openapi_extra`` instead).
    service_id: str = request.path_params["service_id"]
    await authenticate(request)
    state = app_state(request)
    hook = check_service(state, service_id)
    request.state.service_id = service_id
    if hook != state.knowledge.service.hook:
        return await answer_order_hook(request, state, service_id, hook)
    hook_request = parse_body(await request.body(), HookRequest, state.settings.max_json_depth)
    spec = state.knowledge.service
    request.state.hook_instance = hook_request.hook_instance
    if hook_request.hook != spec.hook:
        raise InvalidRequest(f"service '{spec.id}' answers the '{spec.hook}' hook, not '{hook_request.hook}'")
    client = FhirClient.for_invocation(state.http, state.settings)
    now = state.clock()
    record = await gather(hook_request, spec, state.settings, client, now)
    result = evaluate(record, state.knowledge, now, hook_request.hook_instance)
    wires = list(result.wire)
    if result.tier is not None:
        wires = await record_and_filter_wire(state, request, hook_request, result.tier, wires, now)
    request.state.tier = result.tier
    request.state.cards = len(wires)
    request.state.keyword_hits = result.keyword_hits
    return Response(response_json(wires), media_type="application/json")


def answer_json(result: Evaluation) -> bytes:
    """Every card of ``result`` as the response body, as the route answers it when no snooze holds one back."""
    return response_json(list(result.wire))
