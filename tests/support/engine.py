"""Shared helpers for engine tests: knowledge loaded once, cases evaluated the way the golden test does."""

from __future__ import annotations

from functools import cache
from typing import Any

from service.cdshooks.models import HookResponse, dump_clean
from service.engine import Evaluation, evaluate
from service.fixtures_catalog import REPO_ROOT, Case
from service.knowledge import Knowledge, load_knowledge

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
