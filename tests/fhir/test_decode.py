"""service.fhir.decode: what the one-pass decoding takes, and what it hands to the tolerant path (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from service.api.parsing import parse_body
from service.bench.micro import run_now
from service.cdshooks.models import HookRequest
from service.facts import build_facts
from service.fhir import decode as d
from service.fhir.searchset import read_answer_page, read_decoded_page, read_page
from service.gather import gather
from service.settings import Settings
from tests.support.engine import knowledge

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}


def body(**prefetch: Any) -> bytes:
    keys = dict.fromkeys(knowledge().service.prefetch)
    return orjson.dumps({"hook": "patient-view", "hookInstance": "i-1",
                         "context": {"userId": "Practitioner/1", "patientId": "p1"},
                         "prefetch": {**keys, "patient": PATIENT, **prefetch}})


def searchset(*resources: Any, **entry: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r, **entry} for r in resources]}


def both(raw: bytes) -> tuple[Any, Any]:
    types = {key: spec.resource_type for key, spec in knowledge().service.prefetch.items()}
    out = []
    for fast in (True, False):
        request = parse_body(raw, HookRequest, fast=fast)
        record = run_now(gather(request, knowledge().service, Settings(), None))
        out.append((record, build_facts(record, types, NOW, knowledge().relevance.keep)))
    return out[0], out[1]


def condition(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "363346000"}]}, **fields}


def test_a_plain_searchset_is_decoded_into_structs_in_one_pass() -> None:
    split = d.split_body(body(conditions=searchset(condition(onsetDateTime="2026-10-01"))))
    assert split is not None and split.prefetch is not None
    entries = split.prefetch["conditions"].entries
    assert entries is not None and isinstance(entries[0].resource, d.Condition)


@pytest.mark.parametrize("odd", [
    {"onsetDateTime": "2026-13-45"},  # a bad date: unreadable, skipped and counted
    {"onsetDateTime": 20261001},  # a date that is not a string
    {"code": {"coding": "363346000"}},  # a read member of the wrong type
    {"id": 5},
    {"note": None},
])
def test_an_odd_resource_is_skipped_and_counted_exactly_as_today(odd: dict[str, Any]) -> None:
    raw = body(conditions=searchset(condition(**odd), {**condition(), "id": "c2"}))
    (_, fast), (_, reference) = both(raw)
    assert fast == reference
    assert fast.skipped == 1 and [c.ref for c in fast.conditions] == ["Condition/c2"]


def test_a_wrong_type_in_a_member_no_rule_reads_drops_nothing() -> None:
    raw = body(conditions=searchset(condition(extension=[{"url": 5, "valueString": ["x"]}], meta="odd")))
    (_, fast), (_, reference) = both(raw)
    assert fast == reference and fast.skipped == 0 and len(fast.conditions) == 1


def test_subject_null_and_subject_absent_are_told_apart() -> None:
    """``subject: null`` is unnamed (dropped); absent, ``patient`` decides (kept when it is the patient)."""
    named = {"reference": "Patient/p1"}
    absent = {k: v for k, v in {**condition(), "id": "c3"}.items() if k != "subject"}
    raw = body(conditions=searchset({**condition(), "subject": None},
                                    {**condition(), "id": "c2", "subject": None, "patient": named},
                                    {**absent, "patient": named}))
    (fast_record, fast), (_, reference) = both(raw)
    assert fast == reference
    assert [c.ref for c in fast.conditions] == ["Condition/c3"]
    assert all(isinstance(r, d.Condition) for r in fast_record.of("conditions"))


def test_an_empty_concept_beside_a_reference_goes_the_tolerant_way() -> None:
    """``{}`` is falsy to the dict path (the reference is resolved), ``{"x": 1}`` is not: both decode alike."""
    medication = {"resourceType": "Medication", "id": "m1",
                  "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049221"}]}}
    for concept in ({}, {"x": 1}):
        request = {"resourceType": "MedicationRequest", "id": "r1", "status": "active",
                   "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-10-01",
                   "medicationCodeableConcept": concept,
                   "medicationReference": {"reference": "Medication/m1"}}
        bundle = searchset(request)
        bundle["entry"].append({"resource": medication, "search": {"mode": "include"}})
        (_, fast), (_, reference) = both(body(medicationRequests=bundle))
        assert fast == reference
        assert bool(fast.medications[0].codes) == (concept == {})


def test_an_error_outcome_voids_a_decoded_page_and_an_informational_one_does_not() -> None:
    for severity, voided in (("error", True), ("information", False)):
        outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "processing"}]}
        value = d.decode_resource(orjson.dumps(searchset(condition(), outcome)))
        assert (read_decoded_page(value, "Condition") is None) is voided


def test_a_garbage_search_mode_is_a_match_not_a_crash() -> None:
    bundle = searchset(condition(), search={"mode": ["include"]})
    page = read_page(bundle, "Condition")
    assert page is not None and len(page.resources) == 1
    decoded = read_decoded_page(d.decode_resource(orjson.dumps(bundle)), "Condition")
    assert decoded is not None and len(decoded.resources) == 1


def test_an_unknown_top_level_member_takes_the_layered_path_with_the_same_result() -> None:
    raw = orjson.loads(body(conditions=searchset(condition())))
    raw["somethingElse"] = {"deep": [[[1]]]}
    (_, fast), (_, reference) = both(orjson.dumps(raw))
    assert fast == reference and len(fast.conditions) == 1


def test_bytes_that_are_not_utf8_in_a_skipped_member_are_refused_like_today() -> None:
    raw = body(conditions=searchset(condition(text={"div": "PLACEHOLDER"}))).replace(b"PLACEHOLDER", b"\xff\xfe")
    assert d.split_body(raw) is None  # the tolerant path then answers with orjson's 400


def test_a_server_answer_reads_the_same_decoded_or_as_a_dict() -> None:
    """What the FHIR client gets from read_answer_page: today's read_page result, with Structs inside."""
    medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "x"}}
    bundle = searchset(condition(), {**condition(), "id": "c2", "onsetDateTime": 5}, medication,
                       {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}]})
    bundle["link"] = [{"relation": "next", "url": "http://fhir.test/Condition?page=2"}]
    answer = read_answer_page(d.decode_resource(orjson.dumps(bundle)), "Condition")
    assert answer is not None and answer[0] is not None
    page, entries = answer
    plain = read_page(bundle, "Condition")
    assert plain is not None and entries == 4
    assert [d.kind_of(r) for r in page.resources] == [r["resourceType"] for r in plain.resources]
    assert isinstance(page.resources[0], d.Condition) and page.resources[1] == plain.resources[1]
    assert page.next_url == plain.next_url and len(page.medications) == 1
    assert read_answer_page(d.decode_resource(b'{"resourceType": "Bundle", "entry": {}}'), "Condition") is None
    assert read_answer_page(d.decode_resource(b'{"resourceType": "Bundle", "link": 1}'), "Condition") is None


@pytest.mark.parametrize("issued", ["2026-11-30T08:00:00+00:00", "2026-11-29", "not a date", None])
def test_every_date_of_a_resource_is_filled_when_two_repeat_one_instant(issued: str | None) -> None:
    """fill_dates parses a repeated instant once; each attribute still gets its own value, and a bad one fails."""
    raw = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"},
           "effectiveDateTime": "2026-11-30T08:00:00+00:00", "issued": issued}
    obs = d.decode_resource(orjson.dumps({k: v for k, v in raw.items() if v is not None})).resource
    if issued == "not a date":
        with pytest.raises(ValueError):
            obs.fill_dates()
        return
    obs.fill_dates()
    assert obs.effectiveDateTime.at == datetime(2026, 11, 30, 8, tzinfo=UTC)
    if issued is None:
        assert obs.issued is None
    else:
        assert obs.issued.iso_day() == issued[:10] and obs.issued.has_time == ("T" in issued)
