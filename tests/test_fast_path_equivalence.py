"""Speed never changes a card (issue 17): the one-pass msgspec decoding against the plain reference path.

The reference path is today's: ``parse_body(..., fast=False)`` reads the body with orjson and pydantic,
every resource a dict validated by the light models. The fast path decodes the prefetch into Structs
(:mod:`service.fhir.decode`). Both run the same gathering and engine code; every fixture case must answer
the same, and odd resources (wrong types, missing ids, extensions, huge strings, weird dates) must give
the same facts both ways.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.parsing import parse_body
from service.bench.bodies import hook_request
from service.bench.micro import run_now
from service.cdshooks.models import HookRequest, HookResponse, OrderSelectRequest, OrderSignRequest, dump_clean
from service.engine import evaluate
from service.errors import InvalidRequest, RequiredDataUnavailable
from service.facts import build_facts
from service.fhir import decode as d
from service.fixtures_catalog import Case, list_cases
from service.gather import gather
from service.order_engine import evaluate_orders
from service.settings import Settings
from tests.support.engine import knowledge, knowledge_for

CASES = list_cases()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _record(body: bytes, fast: bool, model: type[HookRequest] = HookRequest) -> tuple[HookRequest, Any]:
    request = parse_body(body, model, fast=fast)
    return request, run_now(gather(request, knowledge().service, Settings(), None))


def _types() -> dict[str, str]:
    return {key: spec.resource_type for key, spec in knowledge().service.prefetch.items()}


def _body(case: Case) -> bytes:
    k = knowledge_for(case)
    body = hook_request(case.patient_id, case.prefetch(k.service))
    body["hookInstance"] = case.hook_instance
    if case.order_context is not None:
        body["hook"] = case.order_context["hook"]
        body["context"] = {**body["context"], **case.order_context["context"], "userId": "Practitioner/bench"}
    return orjson.dumps(body)


def _answer(case: Case, fast: bool) -> Any:
    k = knowledge_for(case)
    body = _body(case)
    if case.order_context is None:
        request, record = _record(body, fast)
        result = evaluate(record, k, case.as_of, case.hook_instance)
        return result.skipped_resources, dump_clean(HookResponse(cards=result.cards))
    model = OrderSelectRequest if case.order_context["hook"] == "order-select" else OrderSignRequest
    request, record = _record(body, fast, model)
    drafts = request.context.in_scope()  # type: ignore[attr-defined]
    orders = evaluate_orders(record, drafts, k, case.as_of, case.hook_instance, case.order_context["hook"])
    return [c.model_dump() for c in orders.cards], [a.model_dump() for a in orders.system_actions]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_answers_the_same_through_the_fast_path(case: Case) -> None:
    assert _answer(case, fast=True) == _answer(case, fast=False)


def test_the_fast_path_really_decodes_structs() -> None:
    """Without this the equivalence above could hold because both ran the dict path."""
    case = next(c for c in CASES if c.name.startswith("F8--in--epic"))
    _, record = _record(_body(case), fast=True)
    decoded = [r for items in record.resources.values() for r in items if isinstance(r, d.FhirStruct)]
    assert len(decoded) >= 4  # the Patient, the Condition, resolved MedicationRequests
    _, plain = _record(_body(case), fast=False)
    assert not any(isinstance(r, d.FhirStruct) for items in plain.resources.values() for r in items)


# -- odd resources: hypothesis ------------------------------------------------------------------------

PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)
dates = st.one_of(
    st.sampled_from(["2026-10-30", "2026-10", "2026", "2026-10-30T08:00:00Z", "2026-10-30T08:00:00+05:00",
                     "2026-10-30T08:00:00", "9999-12-31T23:59:59-05:00", "0000-01-01", "2026-13-01", " 2026-10-30 ",
                     "", "yesterday", "2026-02-30"]),
    json_value,
)
strings = st.one_of(st.text(max_size=20), st.just("x" * 100_000), json_value)
coding = st.fixed_dictionaries({}, optional={
    "system": st.sampled_from(["http://snomed.info/sct", "http://loinc.org", "http://www.nlm.nih.gov/research/umls/rxnorm"])
    | strings,
    "code": st.sampled_from(["363346000", "29857009", "161891005", "8302-2", "29463-7", "1049221"]) | strings,
    "display": strings,
})
concept = st.one_of(
    st.fixed_dictionaries({}, optional={"coding": st.lists(coding, max_size=2) | json_value, "text": strings}),
    json_value,
)
reference = st.one_of(
    st.fixed_dictionaries({}, optional={"reference": st.sampled_from(
        ["Patient/p1", "Patient/p2", "http://x/fhir/Patient/p1/_history/2", "urn:uuid:1", ""]) | json_value,
        "display": strings}),
    json_value,
)
period = st.one_of(st.fixed_dictionaries({}, optional={"start": dates, "end": dates}), json_value)
FIELDS: dict[str, dict[str, Any]] = {
    "Condition": {"clinicalStatus": concept, "verificationStatus": concept, "code": concept, "onsetDateTime": dates,
                  "onsetPeriod": period, "onsetAge": st.fixed_dictionaries({}, optional={"value": json_value}),
                  "abatementDateTime": dates, "abatementString": strings, "recordedDate": dates,
                  "note": st.lists(st.fixed_dictionaries({}, optional={"text": strings, "time": dates})) | json_value},
    "Observation": {"status": st.sampled_from(["final", "amended"]) | strings, "code": concept,
                    "valueQuantity": st.fixed_dictionaries({}, optional={
                        "value": st.floats(allow_nan=False, allow_infinity=False) | json_value,
                        "unit": strings, "code": st.sampled_from(["kg", "[lb_av]"]) | strings,
                        "system": st.just("http://unitsofmeasure.org") | strings}),
                    "valueString": strings, "effectiveDateTime": dates, "issued": dates,
                    "component": st.lists(st.fixed_dictionaries({}, optional={"code": concept})) | json_value},
    "MedicationRequest": {"status": st.sampled_from(["active", "stopped"]) | strings,
                          "medicationCodeableConcept": concept, "authoredOn": dates,
                          "medicationReference": reference,
                          "contained": st.lists(st.fixed_dictionaries({
                              "resourceType": st.just("Medication"), "id": st.just("m1")}, optional={"code": concept}))
                          | json_value},
    "Procedure": {"status": st.sampled_from(["completed"]) | strings, "code": concept, "performedDateTime": dates,
                  "performedPeriod": period},
    "CarePlan": {"status": strings, "category": st.lists(concept) | json_value, "period": period,
                 "activity": st.lists(st.fixed_dictionaries({}, optional={"detail": st.fixed_dictionaries(
                     {}, optional={"code": concept}) | json_value})) | json_value},
}
KEYS = {"Condition": "conditions", "Observation": "observations", "MedicationRequest": "medicationRequests",
        "Procedure": "procedures", "CarePlan": "carePlans"}


@st.composite
def odd_resource(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(FIELDS)))
    fields = draw(st.fixed_dictionaries({}, optional=FIELDS[kind]))
    base: dict[str, Any] = {"resourceType": kind}
    base["id"] = draw(st.one_of(st.just(f"{kind.lower()}-1"), json_value))
    if draw(st.booleans()):
        del base["id"]
    base["subject"] = draw(reference) if draw(st.integers(0, 3)) == 0 else {"reference": "Patient/p1"}
    if draw(st.booleans()):
        base["extension"] = draw(st.lists(st.fixed_dictionaries({"url": st.text(max_size=10)},
                                                                  optional={"valueString": json_value})))
    if draw(st.booleans()):
        base["meta"] = draw(json_value)  # a member the service never reads, of any shape
    return {**base, **fields}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=st.lists(odd_resource(), max_size=4), medication=st.none() | st.fixed_dictionaries(
    {"resourceType": st.just("Medication")}, optional={"id": st.just("med-1") | json_value, "code": concept}))
def test_odd_resources_give_the_same_facts_both_ways(resources: list[dict[str, Any]],
                                                     medication: dict[str, Any] | None) -> None:
    logging.disable(logging.WARNING)
    try:
        prefetch: dict[str, Any] = {**dict.fromkeys(_types()), "patient": PATIENT}
        for r in resources:
            key = KEYS[r["resourceType"]]
            prefetch[key] = prefetch[key] or {"resourceType": "Bundle", "entry": []}
            prefetch[key]["entry"].append({"resource": r})
        if medication is not None:
            bundle = prefetch["medicationRequests"] = prefetch["medicationRequests"] or {"resourceType": "Bundle",
                                                                                         "entry": []}
            included = {"fullUrl": "Medication/med-1", "resource": medication, "search": {"mode": "include"}}
            bundle["entry"].append(included)
        body = orjson.dumps(hook_request("p1", prefetch))
        keep = knowledge().relevance.keep
        fast = build_facts(_record(body, True)[1], _types(), NOW, keep)
        reference = build_facts(_record(body, False)[1], _types(), NOW, keep)
    finally:
        logging.disable(logging.NOTSET)
    assert fast == reference


# -- the request boundary: the same 400 for the same body ----------------------------------------------

BAD_BODIES = [
    b"", b"[]", b"{", b'{"hook": 1}', b'{"prefetch": []}', b'{"prefetch": {"patient": }}',
    b'\xef\xbb\xbf{}', b'{"prefetch": {"patient": {"resourceType": "Patient", "id": "\xff"}}}',
    b'{"prefetch": {"patient": {"resourceType": "Patient", "text": "\xff"}}}',
    b'{"prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "x": "\\ud800"}}}',
    b'{"prefetch": {"patient": ' + b"[" * 1100 + b"]" * 1100 + b"}}",
    b'{"prefetch": {"c": {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation",'
    b' "id": "o", "valueQuantity": {"value": 1e400}}}]}}}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_bad_body_gets_the_same_answer_both_ways(body: bytes) -> None:
    def answer(fast: bool) -> str:
        try:
            parse_body(body, HookRequest, fast=fast)
        except InvalidRequest as exc:
            return exc.message
        return "accepted"

    assert answer(True) == answer(False)


# -- odd Bundles and prefetch values: hypothesis ---------------------------------------------------------

outcome = st.fixed_dictionaries({"resourceType": st.just("OperationOutcome")}, optional={
    "issue": st.lists(st.fixed_dictionaries({}, optional={
        "severity": st.sampled_from(["error", "fatal", "warning", "information"]) | json_value})) | json_value})
CANCER = {"coding": [{"system": "http://snomed.info/sct", "code": "363346000"}]}
good_condition = st.builds(
    lambda i, ref: {"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": ref}, "code": CANCER},
    st.integers(0, 3), st.sampled_from(["Patient/p1", "urn:uuid:p1", "urn:uuid:p2", "Patient/p2"]))
entry_resource = st.one_of(good_condition, outcome, st.just(PATIENT), st.just({**PATIENT, "id": "p2"}),
                           st.just({"resourceType": "Encounter", "id": "e1"}), json_value)
entry = st.one_of(
    st.fixed_dictionaries({"resource": entry_resource}, optional={
        "fullUrl": st.sampled_from(["urn:uuid:p1", "urn:uuid:p2", "Condition/c1"]) | json_value,
        "search": st.fixed_dictionaries({}, optional={"mode": st.sampled_from(["match", "include", "outcome"])
                                                      | json_value}) | json_value}),
    json_value,
)
bundle_value = st.fixed_dictionaries({"resourceType": st.just("Bundle")}, optional={
    "entry": st.lists(entry, max_size=4) | json_value,
    "link": st.lists(st.fixed_dictionaries({"relation": st.just("self") | json_value, "url": json_value}),
                     max_size=2) | json_value,
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions=st.one_of(bundle_value, good_condition, outcome, json_value),
       patient=st.one_of(st.just(PATIENT), st.just({**PATIENT, "id": "p2"}), bundle_value, json_value),
       extra=st.none() | bundle_value)
def test_odd_bundles_and_values_give_the_same_record_both_ways(conditions: Any, patient: Any, extra: Any) -> None:
    prefetch: dict[str, Any] = {**dict.fromkeys(_types()), "patient": patient, "conditions": conditions}
    if extra is not None:
        prefetch["notAskedFor"] = extra  # a key no template asked for: Medications and aliases are read from it
    body = orjson.dumps(hook_request("p1", prefetch))
    keep = knowledge().relevance.keep

    def outcome_of(fast: bool) -> Any:
        try:
            _, record = _record(body, fast)
        except (InvalidRequest, RequiredDataUnavailable) as exc:  # anything else (a 500) fails the test
            return type(exc).__name__, exc.message
        return sorted(record.unavailable), build_facts(record, _types(), NOW, keep)

    logging.disable(logging.WARNING)
    try:
        assert outcome_of(True) == outcome_of(False)
    finally:
        logging.disable(logging.NOTSET)
