"""Shared helpers for engine tests: knowledge loaded once, cases evaluated the way the golden test does."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from service.cdshooks.models import (
    HookResponse,
    OrderHookResponse,
    OrderSelectContext,
    OrderSignContext,
    dump_clean,
    wire_json,
)
from service.engine import Evaluation, evaluate
from service.fixtures_catalog import REPO_ROOT, Case
from service.knowledge import Knowledge, load_knowledge
from service.order_engine import OrderEvaluation, evaluate_orders

CARDS_DIR = REPO_ROOT / "cards"


@cache
def knowledge() -> Knowledge:
    return load_knowledge(CARDS_DIR)


def knowledge_for(case: Case) -> Knowledge:
    overrides = case.config_overrides
    return load_knowledge(CARDS_DIR, overrides) if overrides else knowledge()


def run_case(case: Case) -> tuple[Evaluation, Any]:
    k = knowledge_for(case)
    result = evaluate(case.record(k.service), k, case.as_of, case.hook_instance)
    return result, dump_clean(HookResponse(cards=result.cards))


def run_order_case(case: Case) -> tuple[OrderEvaluation, Any]:
    """An order-hook case (``context.json``): the evaluation and the wire answer, as the endpoint builds it."""
    assert case.order_context is not None, case.name
    k = knowledge_for(case)
    model = OrderSelectContext if case.order_context["hook"] == "order-select" else OrderSignContext
    context = model.model_validate(case.order_context["context"])
    hook = case.order_context["hook"]
    result = evaluate_orders(case.record(k.service), context.in_scope(), k, case.as_of, case.hook_instance, hook)
    return result, orjson.loads(wire_json(OrderHookResponse.answer(result.cards, result.system_actions)))


def golden_response(case: Case) -> Any:
    """What ``expected.json`` holds: the order hook's answer for order cases, else the patient-view answer."""
    return run_order_case(case)[1] if case.order_context is not None else run_case(case)[1]
