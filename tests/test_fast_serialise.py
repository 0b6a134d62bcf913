"""The fast card path (wire dicts + orjson) writes exactly the bytes of the pydantic reference path.

For every fixture case the engine's card is captured at the point it is rendered; the same assessment is
rendered again member by member as wire models (``render_card``) and serialised with pydantic. The two byte
strings must be equal, and so must the wire models the engine validated from the fast card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import service.engine as engine
from service.cdshooks.models import HookResponse, response_json, wire_json
from service.fixtures_catalog import Case, list_cases
from service.render import render_card
from tests.support.app import SERVICE_URL, client_for, settings_for
from tests.support.engine import knowledge_for

CASES = list_cases()


def evaluate_with_reference(case: Case, monkeypatch: pytest.MonkeyPatch) -> tuple[engine.Evaluation, bytes | None]:
    """The engine's evaluation and, when it made a card, the reference path's bytes for that card."""
    seen: list[tuple[Any, ...]] = []
    fast = engine.render_wire

    def spy(*args: Any) -> dict[str, Any]:
        seen.append(args)
        return fast(*args)

    monkeypatch.setattr(engine, "render_wire", spy)
    k = knowledge_for(case)
    result = engine.evaluate(case.record(k.service), k, case.as_of, case.hook_instance)
    reference = wire_json(HookResponse(cards=[render_card(*args) for args in seen])) if seen else None
    return result, reference


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fast_card_bytes_equal_the_reference_path(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    result, reference = evaluate_with_reference(case, monkeypatch)
    assert len(result.wire) == len(result.cards) == (1 if result.tier else 0)
    if reference is None:
        assert response_json(result.wire) == b'{"cards":[]}' == wire_json(HookResponse(cards=[]))
        return
    assert response_json(result.wire) == reference
    assert wire_json(HookResponse(cards=result.cards)) == reference


def test_the_cases_exercise_every_optional_member() -> None:
    """Not a vacuous comparison: the cases' cards carry suggestions, links, reasons and an isRecommended false."""
    seen: set[str] = set()
    for case in CASES:
        k = knowledge_for(case)
        for card in engine.evaluate(case.record(k.service), k, case.as_of, case.hook_instance).wire:
            seen |= set(card)
            seen |= {key for s in card.get("suggestions", []) for key in s}
    assert {"suggestions", "selectionBehavior", "overrideReasons", "links", "isRecommended"} <= seen


@pytest.mark.parametrize("tier", ["C1", "C3"])  # C3 offers the snooze: the answer waits for the card record
def test_the_endpoint_answers_the_fast_bytes(tmp_path: Path, tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.api.hooks as hooks

    served: list[bytes] = []
    fast = hooks.response_json

    def spy(cards: Any) -> bytes:
        served.append(fast(cards))
        return served[-1]

    monkeypatch.setattr(hooks, "response_json", spy)
    case = next(c for c in CASES if c.tier == tier and c.order_context is None)
    k = knowledge_for(case)
    prefetch = case.prefetch(k.service)
    body = {"hook": "patient-view", "hookInstance": case.hook_instance,
            "context": {"userId": "Practitioner/example", "patientId": case.patient_id}, "prefetch": prefetch}
    expected = engine.evaluate(case.record(k.service), k, case.as_of, case.hook_instance)
    with client_for(settings_for(tmp_path), clock=lambda: case.as_of, knowledge=k) as client:
        response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 200
    assert response.content == wire_json(HookResponse(cards=expected.cards)) == response_json(expected.wire)
    assert served == [response.content]  # answered through the fast path, not the models
