"""``medicationReference`` resolution (CLINICAL_RULES.md item 33), down to one read from a real FHIR server.

Order: contained Medication, a Medication anywhere in the request's Bundles, one read of
``Medication/{id}`` from fhirServer (Medplum here) under the request deadline, else the reference's display.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.cdshooks.models import HookRequest
from service.engine import evaluate
from service.fhir.client import FhirClient
from service.fhir.medications import MedicationIndex, resolve, to_read
from service.fhir.transport import FhirHttp
from service.fixtures_catalog import list_cases
from service.gather import gather
from tests.fhir.builders import SPEC, hook_body, plain, settings
from tests.fhir.stand_ins import hanging_server
from tests.support.engine import knowledge_for

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
IBUPROFEN = {"coding": [{"system": RX, "code": "206905", "display": "Ibuprofen 400 MG Oral Tablet [Ibu]"}]}


def request(pid: str, n: str, reference: str, display: str | None = "ibuprofen tablet", **extra: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"reference": reference}
    if display:
        ref["display"] = display
    return {
        "resourceType": "MedicationRequest",
        "id": f"{pid}-{n}",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-03-01",
        "medicationReference": ref,
        **extra,
    }


def medication(mid: str, code: dict[str, Any] = IBUPROFEN) -> dict[str, Any]:
    return {"resourceType": "Medication", "id": mid, "code": code}


def test_contained_medication_is_used_first() -> None:
    r = request("p", "1", "#m", contained=[medication("m")])
    index = MedicationIndex()
    index.add(medication("m", {"text": "not this one"}))
    assert resolve(r, index)["medicationCodeableConcept"] == IBUPROFEN
    assert to_read([r], index) == []


@pytest.mark.parametrize(
    "reference",
    ["Medication/m1", "https://ehr.example.org/fhir/Medication/m1", "Medication/m1/_history/2", "urn:uuid:abcd"],
)
def test_a_medication_of_the_request_bundles_resolves_every_reference_form(reference: str) -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:abcd", "resource": medication("m1")}]}
    index = MedicationIndex()
    index.add_bundles([bundle, None, {"resourceType": "Medication", "id": "m2"}])
    resolved = resolve(request("p", "1", reference), index)
    assert resolved["medicationCodeableConcept"] == IBUPROFEN
    assert resolved["medicationReference"]["reference"] == reference  # the original is kept
    assert to_read([request("p", "1", reference)], index) == []


def test_display_is_the_last_resort_and_nothing_is_invented_without_it() -> None:
    index = MedicationIndex()
    shown = resolve(request("p", "1", "Medication/absent", "Naproxen 500 mg"), index)
    assert shown["medicationCodeableConcept"] == {"text": "Naproxen 500 mg"}
    bare = request("p", "2", "Medication/absent", None)
    assert resolve(bare, index) is bare
    coded = {**request("p", "3", "Medication/m1"), "medicationCodeableConcept": {"text": "as sent"}}
    assert resolve(coded, index) is coded
    assert to_read([shown, bare, coded, request("p", "4", "Medication/absent")], index) == ["absent"]


def test_only_references_to_the_fhir_server_itself_are_read_from_it() -> None:
    index = MedicationIndex()
    here = request("p", "1", "https://ehr.example.org/fhir/Medication/m-here")
    elsewhere = request("p", "2", "https://other.example.org/fhir/Medication/m-there")
    assert to_read([here, elsewhere], index, "https://ehr.example.org/fhir/") == ["m-here"]
    assert to_read([here, elsewhere], index, None) == []
    assert resolve(elsewhere, index)["medicationCodeableConcept"] == {"text": "ibuprofen tablet"}


@pytest.fixture
async def client() -> AsyncIterator[FhirClient]:
    async with FhirHttp(connect_timeout=5, read_timeout=5) as http:
        yield FhirClient(http)


def prefetch_with(pid: str, *requests: dict[str, Any]) -> dict[str, Any]:
    prefetch: dict[str, Any] = dict.fromkeys(SPEC.prefetch)
    prefetch["patient"] = {"resourceType": "Patient", "id": pid}
    prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset"}
    prefetch["medicationRequests"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in requests],
    }
    return prefetch


@pytest.mark.integration
async def test_item_33_one_read_of_each_missing_medication_from_the_fhir_server(fhir_server, client) -> None:
    await fhir_server.load([medication("medref-m1")])
    fhir_server.clear_log()
    prefetch = prefetch_with(
        "medref-1",
        request("medref-1", "a", "Medication/medref-m1"),
        request("medref-1", "b", f"{fhir_server.base_url}/Medication/medref-m1"),
        request("medref-1", "c", "Medication/medref-gone", "Naproxen 500 mg"),
    )
    body = hook_body("medref-1", fhir_server=fhir_server.base_url, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    asked = sorted(e["url"] for e in fhir_server.request_log())
    assert asked == ["/fhir/Medication/medref-gone", "/fhir/Medication/medref-m1"]
    concepts = [plain(r)["medicationCodeableConcept"] for r in record.of("medicationRequests")]
    assert concepts == [IBUPROFEN, IBUPROFEN, {"text": "Naproxen 500 mg"}]
    assert record.unavailable == frozenset()


@pytest.mark.integration
async def test_item_33_medications_included_by_the_fhir_server_need_no_read(fhir_server, client) -> None:
    await fhir_server.load([medication("medinc-m1"), request("medinc-1", "a", "Medication/medinc-m1")])
    fhir_server.clear_log()
    prefetch = prefetch_with("medinc-1")
    del prefetch["medicationRequests"]
    body = hook_body("medinc-1", fhir_server=fhir_server.base_url, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    asked = [e["url"] for e in fhir_server.request_log()]
    assert len(asked) == 1 and "_include=MedicationRequest%3Amedication" in asked[0]
    assert [plain(r)["medicationCodeableConcept"] for r in record.of("medicationRequests")] == [IBUPROFEN]


@pytest.mark.integration
async def test_item_33_glp1_agonist_read_from_the_fhir_server_explains_weight_loss(fhir_server, client) -> None:
    """The GLP-1 case with its Medication left out of the prefetch: read from Medplum, still no card."""
    case = next(c for c in list_cases() if c.name == "F5--out--glp1-agonist-by-reference")
    k = knowledge_for(case)
    await fhir_server.load([r for r in case.resources() if r["resourceType"] == "Medication"])
    prefetch = case.prefetch(k.service)
    for key in ("medicationRequests", "medicationStatements"):
        prefetch[key]["entry"] = [e for e in prefetch[key]["entry"] if e["resource"]["resourceType"] != "Medication"]
    body = hook_body(case.patient_id, fhir_server=fhir_server.base_url, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), k.service, settings(), client)
    result = evaluate(record, k, case.as_of, case.hook_instance)
    assert result.cards == [] and "F5" not in result.flags
    assert record.of("medicationRequests")[0]["medicationCodeableConcept"]["coding"][0]["code"] == "1991306"


async def test_item_33_a_server_that_never_answers_leaves_the_display_within_the_deadline(client) -> None:
    async with hanging_server() as url:
        prefetch = prefetch_with("medhang-1", request("medhang-1", "a", "Medication/m-slow", "tramadol 50 mg"))
        body = hook_body("medhang-1", fhir_server=url, prefetch=prefetch)
        record = await gather(HookRequest.model_validate(body), SPEC, settings(fhir_deadline_seconds=0.3), client)
    assert record.of("medicationRequests")[0]["medicationCodeableConcept"] == {"text": "tramadol 50 mg"}
    assert record.unavailable == frozenset()
