"""What the engine builds once at knowledge load (issue 17) equals what it built per request before.

Each part is compared with the per-request computation it replaced, written out here as the reference: the
union of known codes, the orders' wire members, each tier's questions block, the flag order, and the
evidence line text built from only the values its template names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.fhir.dates import When
from service.knowledge import Knowledge
from service.knowledge.valuesets import ICD10CM
from service.markdown import escape_markdown as md
from service.render import MODIFIERS, _evidence_text, _plain, flag_features
from service.rules.base import Evidence
from tests.support.engine import knowledge


@pytest.fixture(scope="module")
def k() -> Knowledge:
    return knowledge()


def test_known_codes_agree_with_every_value_set(k: Knowledge) -> None:
    keys = {key for vs in k.value_sets.values() for key in vs.codes}
    keys |= {(ICD10CM, code) for code in ("C50.9", "C44.9", "Z85.3", "Z85.828", "M54.5", "Q99.9", "D49")}
    keys |= {("http://snomed.info/sct", "0"), ("urn:x", "C50.9")}
    assert any(vs.include for vs in k.value_sets.values())  # the regex part is exercised too
    for key in keys:
        expected = any(vs.contains(key) for vs in k.value_sets.values())
        assert k.known_codes.contains(key) is expected, key


def test_order_wire_parts_equal_the_per_card_dicts(k: Knowledge) -> None:
    assert set(k.card_parts.orders) == set(k.orders.orders)
    for name, order in k.orders.orders.items():
        category = k.orders.categories[order.category]
        wire = k.card_parts.orders[name]
        assert wire.category == [
            {"coding": [{"system": category.system, "code": category.code, "display": category.display}]}
        ]
        assert wire.code == {
            "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in order.codings],
            "text": order.label,
        }


def test_questions_block_is_the_heading_and_one_line_per_question(k: Knowledge) -> None:
    assert any(text.questions for text in k.cards.tiers.values())
    for tier, text in k.cards.tiers.items():
        line = k.cards.texts["actionLine"]
        lines = [k.cards.texts["questionsHeading"], *(line.format(text=q) for q in text.questions)]
        assert k.card_parts.tiers[tier].questions == ("\n".join(lines) if text.questions else "")


class _Findings:
    """An Assessment stand-in: flag_features reads ``findings`` only."""

    def __init__(self, present: dict[str, bool]) -> None:
        self.findings = {f: _Present(p) for f, p in present.items()}


class _Present:
    def __init__(self, present: bool) -> None:
        self.present = present


@pytest.mark.parametrize("features", [
    ("F1", "F2", "F3", "F4", "F11", "F12", "F5", "F6", "F7", "F8", "F9", "F10"),
    ("F10", "F99", "F3", "F1"),
    (),
])
def test_flag_order_equals_the_per_request_order(k: Knowledge, features: tuple[str, ...]) -> None:
    for pattern in (True, False, None):
        present = {f: (i % 2 == 0) if pattern is None else pattern for i, f in enumerate(features)}
        a = _Findings(present)
        order = [f for f in k.cards.layout.flag_order if f in a.findings]
        order += [f for f in a.findings if f not in order]
        expected = [f for f in order if f not in MODIFIERS and a.findings[f].present]
        assert flag_features(a, k) == expected  # type: ignore[arg-type]
        assert flag_features(a, k) == expected  # type: ignore[arg-type]  # and again, from the kept order


def _reference_evidence_text(feature: str, ev: Evidence, k: Knowledge) -> str:
    """The evidence text as it was built before: every value, whatever the template names."""
    texts = k.cards.texts
    observed = md(ev.observed) if ev.observed else ""
    threshold = md(_plain(ev.threshold)) if ev.threshold else "-"
    values: dict[str, Any] = {
        "what": md(_plain(ev.what)),
        "date": ev.date.iso_day() if ev.date else "no date",
        "since": f"since {ev.date.iso_day()}" if ev.date else "undated",
        "observed": observed,
        "threshold": threshold,
        "measured": texts["measured"].format(observed=observed, threshold=threshold) if observed else "",
        "fromText": texts["fromText"].format(match=md(ev.text_match, limit=120)) if ev.text_match else "",
    }
    if ev.from_note:
        values["fromText"] = texts["fromNote"].format(date=values["date"], sentence=md(ev.text_match or "", limit=120))
    template = k.cards.evidence_by_flag.get(feature, texts["evidence"])
    return template.format(**values)


DATE = When(datetime(2026, 10, 1, tzinfo=UTC), False)
EVIDENCE = [
    Evidence(ref="Condition/1", date=DATE, what="Low back pain <b>", code=(ICD10CM, "M54.50")),
    Evidence(ref="Condition/2", date=None, what="x", observed="80 kg", threshold=">= 5 %"),
    Evidence(ref="Observation/3", date=DATE, what="note", text_match="worse at *night*", by_keyword=True),
    Evidence(ref="DocumentReference/4", date=DATE, what="note", text_match="a" * 200, from_note=True),
    Evidence(ref="DocumentReference/5", date=None, what="note", text_match=None, from_note=True),
]


def test_evidence_text_equals_the_every_value_reference(k: Knowledge) -> None:
    features = ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", *k.cards.evidence_by_flag]
    for feature in features:
        for ev in EVIDENCE:
            assert _evidence_text(feature, ev, k) == _reference_evidence_text(feature, ev, k), (feature, ev)


def test_one_concepts_codes_equal_the_general_reader() -> None:
    from service.fact_readers import codes_of, concept_codes
    from service.fhir import models as m

    concepts = [
        None,
        m.CodeableConcept.model_validate({}),
        m.CodeableConcept.model_validate({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "m5450"}]}),
        m.CodeableConcept.model_validate(
            {"coding": [{"code": "x"}, {"system": "http://snomed.info/sct", "code": "279039007", "display": "LBP"}]}
        ),
    ]
    for concept in concepts:
        assert concept_codes(concept) == codes_of(concept)


def test_deadline_text_equals_strftime() -> None:
    from datetime import timedelta

    from service.orders import _when, deadline_of

    start = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    for hours in (0, 1, 4, 24, 72, 168, 8760):
        deadline = deadline_of(start, hours)
        assert _when(deadline) == deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _when(deadline - timedelta(microseconds=999999)) == (
            deadline - timedelta(microseconds=999999)
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
