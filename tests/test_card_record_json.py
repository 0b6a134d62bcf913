"""The card record's small per-card computations that are kept or done by a faster library (issue 17)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from service.storage.cards import IssuedCard, _suggestions_json
from service.storage.pseudonym import PatientKeys
from tests.support.engine import knowledge


def _card(suggestions: list[tuple[str, str]]) -> IssuedCard:
    return IssuedCard(service_id="back-pain-red-flags", card_uuid="c", tier="C2", issued_at=datetime.now(UTC),
                      suggestions=suggestions, knowledge_version="v")


@given(st.lists(st.tuples(st.uuids().map(str), st.sampled_from(["mri", "ct", "referral", "bloods", "other"]))))
def test_suggestions_text_is_what_json_dumps_wrote(suggestions: list[tuple[str, str]]) -> None:
    assert _suggestions_json(_card(suggestions)) == json.dumps([list(s) for s in suggestions], separators=(",", ":"))


@given(st.lists(st.tuples(st.text(), st.text())))
def test_any_suggestion_text_reads_back_the_same(suggestions: list[tuple[str, str]]) -> None:
    assert json.loads(_suggestions_json(_card(suggestions))) == [list(s) for s in suggestions]


def test_kept_patient_keys_equal_fresh_ones_and_differ_per_patient_issuer_and_secret() -> None:
    keys = PatientKeys("now", ["before"])
    first = keys.candidates("https://ehr.example", "p1")
    again = keys.candidates("https://ehr.example", "p1")
    assert first == again and first is not again  # a caller may change its list without touching the kept keys
    first.clear()
    assert keys.candidates("https://ehr.example", "p1") == again
    assert again == [PatientKeys("now").current("https://ehr.example", "p1"),
                     PatientKeys("before").current("https://ehr.example", "p1")]
    assert keys.candidates("https://ehr.example", "p2") != again
    assert keys.candidates(None, "p1") != again
    assert PatientKeys("other").candidates("https://ehr.example", "p1")[0] not in again


def test_snooze_offered_kept_per_hook_and_tier_answers_as_the_reasons_say() -> None:
    policy = knowledge().feedback
    for hook in ("patient-view", "order-select", "order-sign"):
        for tier in ("C1", "C2", "C3", "C3R", "C4", "C5"):
            expected = any((r.system, r.code) == (policy.data.snooze.system, policy.snooze_code)
                           and r.offered(hook, tier) for r in policy.data.override_reasons)
            assert policy.snooze_offered(hook, tier) is expected
            assert policy.snooze_offered(hook, tier) is expected  # the kept answer
    assert policy.snooze_offered("patient-view", "C3R") and not policy.snooze_offered("order-sign", "C3R")


def test_every_fixture_card_records_the_same_suggestion_kinds_from_its_wire_form() -> None:
    from service.engine import evaluate
    from service.fixtures_catalog import list_cases
    from tests.support.engine import knowledge_for

    seen = set()
    for case in list_cases():
        k = knowledge_for(case)
        result = evaluate(case.record(k.service), k, case.as_of, case.hook_instance)
        for wire, card in zip(result.wire, result.cards, strict=True):
            from_wire = [(s.get("uuid"), k.feedback.wire_suggestion_kind(s)) for s in wire.get("suggestions", [])]
            from_model = [(s.uuid, k.feedback.suggestion_kind(s)) for s in card.suggestions]
            assert from_wire == from_model, case.name
            seen.update(kind for _, kind in from_model)
    assert {"mri", "referral"} <= seen  # the kinds the cards propose are found, not only the default
