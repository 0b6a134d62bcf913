"""cards/feedback.json (issue 18): override reasons as data, checked at start-up, easy to extend per hook."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.cdshooks.models import Action, Suggestion
from service.errors import KnowledgeError
from service.knowledge import load_knowledge
from tests.support.engine import CARDS_DIR, knowledge

HL7 = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
# The concepts of the HL7 code system (CDS Hooks 3.0.0-ballot) this service may use; a typo fails here.
HL7_CODES = {"cds-not-applicable", "patient-ineligible", "indication-order-exists", "action-completed",
             "action-unsuccessful", "action-not-priority", "need-more-info", "patient-contraindication",
             "patient-refuses", "risk-benefit-ratio", "service-not-available", "prefers-alternative"}


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    target = tmp_path / "cards"
    shutil.copytree(CARDS_DIR, target)
    return target


def edit(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_standard_codes_are_real_hl7_concepts_and_local_ones_are_few() -> None:
    reasons = knowledge().feedback.override_reasons("patient-view", "C4")
    hl7 = {r.code for r in reasons if r.system == HL7}
    local = {r.code for r in reasons if r.system != HL7}
    assert hl7 and hl7 <= HL7_CODES
    assert local == {"data-incorrect", "snooze"}


def test_a_reason_for_another_hook_is_offered_on_that_hook_only(cards: Path) -> None:
    extra = {"system": "hl7", "code": "need-more-info", "display": "Waiting for results", "hooks": ["order-sign"]}
    edit(cards / "feedback.json", lambda d: d["overrideReasons"].append(extra))
    k = load_knowledge(cards)
    assert "need-more-info" in {r.code for r in k.feedback.override_reasons("order-sign", "C3", "mismatch")}
    assert "need-more-info" not in {r.code for r in k.feedback.override_reasons("order-select", "C3", "mismatch")}
    assert "need-more-info" not in {r.code for r in k.feedback.override_reasons("patient-view", "C3")}


def codes(hook: str, tier: str | None, card: str | None = None) -> list[str]:
    return [r.code for r in knowledge().feedback.override_reasons(hook, tier, card)]


def test_order_cards_offer_their_own_reasons_and_chart_cards_keep_theirs() -> None:
    """Issue 19: the order cards' reasons come from feedback.json, limited by hook and order card."""
    for hook in ("order-select", "order-sign"):
        for tier in ("C1", "C1M", "C2", "C3"):
            assert codes(hook, tier, "mismatch") == [
                "patient-contraindication", "order-covers-need", "service-not-available", "patient-refuses",
                "data-incorrect"]
        assert codes(hook, None, "early") == ["red-flag-not-in-record", "cds-not-applicable", "data-incorrect"]
    # patient-view: exactly the reasons of issue 18, none of the order cards'
    assert codes("patient-view", "C1") == ["action-completed", "indication-order-exists", "cds-not-applicable",
                                           "patient-contraindication", "patient-refuses", "data-incorrect"]
    assert codes("patient-view", "C4") == ["action-completed", "cds-not-applicable", "patient-refuses",
                                           "data-incorrect", "snooze"]
    for tier in ("C1", "C1M", "C2", "C3", "C3R", "C4", "C5"):
        assert not {"red-flag-not-in-record", "order-covers-need", "service-not-available"} & set(
            codes("patient-view", tier))
    k = knowledge().feedback
    assert k.is_data_quality(k.data.systems["local"], "red-flag-not-in-record")
    assert not k.snooze_offered("order-select", "C4") and k.snooze_offered("patient-view", "C4")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["overrideReasons"][0].update(system="nowhere"), "unknown system 'nowhere'"),
    (lambda d: d["snooze"].update(code="sleep"), "no override reason offers"),
    (lambda d: d["systems"].update(local="https://elsewhere.example/cs"), "systems.local must equal"),
    (lambda d: d["suggestionKinds"]["byCategory"].update(imaging="scan"), "'scan' is not listed"),
    (lambda d: d["snooze"].update(days=0), "feedback.schema.json at snooze/days"),
    (lambda d: d["overrideReasons"][0].update(hooks=["order-dispatch"]), "hook 'order-dispatch', which no service"),
    (lambda d: d["overrideReasons"][0].update(cards=["banner"]), "order card 'banner', which is not one"),
    (lambda d: d["overrideReasons"][-1].update(hooks=["patient-view", "order-sign"]), "never snoozed"),
    (lambda d: d["overrideReasons"].append({"system": "local", "code": "data-incorrect", "display": "Wrong"}),
     r"would offer \['data-incorrect'\] twice"),
    (lambda d: d["dataQuality"].update(code="record-gap"), "dataQuality names 'record-gap'"),
    (lambda d: d.pop("dataQuality"), "'dataQuality' is a required property"),
])
def test_broken_feedback_knowledge_stops_start_up(cards: Path, change: Callable[[Any], None], message: str) -> None:
    edit(cards / "feedback.json", change)
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(cards)


def test_every_shipped_order_has_a_meaningful_kind() -> None:
    k = knowledge()
    for name, order in k.orders.orders.items():
        coding = order.codings[0]
        suggestion = Suggestion(label=name, actions=[Action(type="create", description=name, resource={
            "resourceType": "ServiceRequest", "code": {"coding": [{"system": coding.system, "code": coding.code}]}})])
        kind = k.feedback.suggestion_kind(suggestion)
        expected = {"imaging": {"mri", "ct"}, "referral": {"referral"}, "laboratory": {"bloods"}}[order.category]
        assert kind in expected, (name, kind)
    assert k.feedback.suggestion_kind(Suggestion(label="x")) == "other"


def test_knowledge_version_follows_the_files(cards: Path) -> None:
    before = load_knowledge(cards).version
    edit(cards / "feedback.json", lambda d: d["snooze"].update(days=14))
    after = load_knowledge(cards)
    assert before != after.version and after.version.startswith("sha256:")
    assert "14 days" in next(r.display for r in after.feedback.override_reasons("patient-view", "C4")
                             if r.code == "snooze")
