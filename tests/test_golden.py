"""Every fixture case: the whole response equals its reviewed golden file; tier and flag match case.json.

``pytest tests/test_golden.py --update-golden`` rewrites expected.json; review every diff before committing.
"""

from __future__ import annotations

import json

import orjson
import pytest

from service.cdshooks.models import HookResponse, dump_clean, wire_json
from service.engine import evaluate
from service.fixtures_catalog import Case, list_cases
from service.knowledge import load_knowledge
from service.settings import REPO_ROOT
from tests.support.engine import golden_response, run_case

CASES = list_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_response(case: Case, update_golden: bool) -> None:
    response = golden_response(case)
    if update_golden:
        text = json.dumps(response, indent=2, ensure_ascii=False) + "\n"
        case.expected_path.write_text(text, encoding="utf-8")
    assert response == case.expected()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_outcome_matches_manifest(case: Case) -> None:
    result, _ = run_case(case)
    assert result.tier == case.tier
    if case.rule.startswith("C"):
        assert (result.tier == case.rule) == (case.expect == "in")
    else:
        assert (case.rule in result.flags) == (case.expect == "in")
    assert len(result.cards) == (1 if case.tier else 0)
    assert result.skipped_resources == 0


def test_fast_wire_serialisation_equals_the_reference_on_every_case() -> None:
    """The hot path serialises with pydantic's exclude_defaults; it must match dump_clean exactly."""
    base = load_knowledge(REPO_ROOT / "cards")
    checked = 0
    for case in list_cases():
        knowledge = load_knowledge(REPO_ROOT / "cards", case.config_overrides) if case.config_overrides else base
        result = evaluate(case.record(base.service), knowledge, case.as_of, case.hook_instance)
        response = HookResponse(cards=result.cards)
        assert orjson.loads(wire_json(response)) == dump_clean(response), case.name
        checked += len(result.cards)
    assert checked >= 20
