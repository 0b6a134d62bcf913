"""CDS Hooks 2.0.1 service-side conformance, named after the checklist IDs of CDS_HOOKS.md (A-L)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.app import (
    SERVICE_URL,
    client_for,
    hook_request,
    schema_validator,
    settings_for,
    walk_no_empty,
)

OO = schema_validator("operation-outcome.schema.json")
DISCOVERY = schema_validator("discovery.schema.json")
RESPONSE = schema_validator("response.schema.json")


@pytest.fixture
def client(tmp_path: Path):
    with client_for(settings_for(tmp_path)) as c:
        yield c


def assert_outcome(response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    OO.validate(response.json())


def test_A1_every_response_is_json(client) -> None:
    responses = [
        client.get("/cds-services"),
        client.post(SERVICE_URL, json=hook_request()),
        client.post(SERVICE_URL, content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/cds-services/unknown", json=hook_request()),
        client.get(SERVICE_URL),
    ]
    for response in responses:
        assert response.headers["content-type"].startswith("application/json"), response.status_code


def test_A2_A3_no_null_or_empty_members(client) -> None:
    discovery = client.get("/cds-services").json()
    assert walk_no_empty(discovery) == []
    assert walk_no_empty(client.post(SERVICE_URL, json=hook_request()).json()) == []


def test_A6_unknown_members_are_ignored(client) -> None:
    body = hook_request(futureMember={"x": 1})
    body["context"]["somethingNew"] = "y"
    response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_B1_B2_B4_discovery_lists_the_service(client) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    DISCOVERY.validate(body)
    service = body["services"][0]
    assert {(s["id"], s["hook"]) for s in body["services"]} == {
        ("back-pain-red-flags", "patient-view"),
        ("back-pain-imaging-order-select", "order-select"),
        ("back-pain-imaging-order-sign", "order-sign"),
    }
    assert service["id"] == "back-pain-red-flags"
    assert service["hook"] == "patient-view"
    assert service["title"] and "back pain" in service["description"].lower()


def test_B4_discovery_prefetch_covers_every_resource_type_the_rules_read(client) -> None:
    prefetch = client.get("/cds-services").json()["services"][0]["prefetch"]
    types = {re.split(r"[/?]", query)[0] for query in prefetch.values()}
    assert types == {
        "Patient", "Condition", "Observation", "MedicationRequest", "MedicationStatement", "Procedure",
        "ServiceRequest", "DiagnosticReport", "CarePlan", "ImagingStudy", "DocumentReference",
    }
    for code in ("29463-7", "3141-9", "3142-7", "8350-1", "8351-9", "75325-1", "72514-3", "38208-5",
                 "75893-8", "91148-7"):
        assert f"http://loinc.org|{code}" in prefetch["observations"]


def test_E1_E2_E4_prefetch_templates_use_only_allowed_tokens_and_syntax(client) -> None:
    prefetch = client.get("/cds-services").json()["services"][0]["prefetch"]
    for query in prefetch.values():
        tokens = re.findall(r"\{\{([^}]*)\}\}", query)
        assert tokens and all(t in ("context.patientId", "context.userId", "context.encounterId") for t in tokens)
        assert "sort:desc" not in query
        params = query.split("?", 1)[1].split("&") if "?" in query else []
        for param in params:
            name = param.split("=", 1)[0]
            # token search with equality (E4): code, and category for the clinical-note template
            assert name in ("patient", "code", "category", "_count", "_sort", "date") or name.startswith("_"), name


def test_C1_unknown_service_is_404_with_operation_outcome(client) -> None:
    assert_outcome(client.post("/cds-services/not-a-service", json=hook_request()), 404)


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_C2_missing_required_member_is_400(client, missing: str) -> None:
    body = hook_request()
    del body[missing]
    assert_outcome(client.post(SERVICE_URL, json=body), 400)


def test_C2_fhir_authorization_without_fhir_server_is_400(client) -> None:
    token = {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
             "subject": "cds"}
    assert_outcome(client.post(SERVICE_URL, json=hook_request(fhirAuthorization=token)), 400)


def test_C2_malformed_json_is_400_not_422(client) -> None:
    response = client.post(SERVICE_URL, content=b'{"hook": ', headers={"content-type": "application/json"})
    assert_outcome(response, 400)
    assert "Traceback" not in response.text


def test_C2_body_that_is_not_an_object_is_400(client) -> None:
    assert_outcome(client.post(SERVICE_URL, json=["patient-view"]), 400)


def test_C3_hook_instance_is_opaque(client) -> None:
    response = client.post(SERVICE_URL, json=hook_request(hookInstance="not-a-uuid:42"))
    assert response.status_code == 200


def test_C4_wrong_hook_is_400(client) -> None:
    assert_outcome(client.post(SERVICE_URL, json=hook_request(hook="order-sign")), 400)


@pytest.mark.parametrize("missing", ["userId", "patientId"])
def test_D1_missing_context_field_is_400(client, missing: str) -> None:
    body = hook_request()
    del body["context"][missing]
    assert_outcome(client.post(SERVICE_URL, json=body), 400)


def test_D2_encounter_id_is_optional_and_accepted(client) -> None:
    body = hook_request()
    assert "encounterId" not in body["context"]
    assert client.post(SERVICE_URL, json=body).status_code == 200
    body["context"]["encounterId"] = "enc-1"
    assert client.post(SERVICE_URL, json=body).status_code == 200


@pytest.mark.parametrize("user_id", ["abc", "Device/1", "Practitioner/", "Practitioner/a/b"])
def test_D3_user_id_must_be_a_typed_reference(client, user_id: str) -> None:
    body = hook_request()
    body["context"]["userId"] = user_id
    assert_outcome(client.post(SERVICE_URL, json=body), 400)


def test_E6_key_absent_without_fhir_server_is_412(client) -> None:
    body = hook_request()
    del body["prefetch"]["conditions"]
    response = client.post(SERVICE_URL, json=body)
    assert_outcome(response, 412)
    assert "conditions" in response.json()["issue"][0]["diagnostics"]


def test_E6_key_null_means_no_data_and_is_not_a_failure(client) -> None:
    body = hook_request()
    body["prefetch"]["conditions"] = None
    assert client.post(SERVICE_URL, json=body).json() == {"cards": []}


def test_E6_empty_bundle_means_no_data(client) -> None:
    body = hook_request()
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    assert client.post(SERVICE_URL, json=body).json() == {"cards": []}


def test_E7_operation_outcome_prefetch_is_unsatisfied(client) -> None:
    body = hook_request()
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "timeout"}]}
    assert_outcome(client.post(SERVICE_URL, json=body), 412)


def test_E9_unknown_prefetch_keys_are_ignored(client) -> None:
    body = hook_request()
    body["prefetch"]["somethingElse"] = {"resourceType": "Bundle", "type": "searchset"}
    assert client.post(SERVICE_URL, json=body).status_code == 200


def test_F3_token_type_must_be_bearer(client) -> None:
    token = {"access_token": "t", "token_type": "MAC", "expires_in": 300, "scope": "s", "subject": "cds"}
    body = hook_request(fhirServer="http://fhir.example.org", fhirAuthorization=token)
    assert_outcome(client.post(SERVICE_URL, json=body), 400)


def test_G1_G2_no_guidance_is_200_with_empty_cards(client) -> None:
    response = client.post(SERVICE_URL, json=hook_request())
    assert response.status_code == 200
    RESPONSE.validate(response.json())
    assert response.json() == {"cards": []}


def test_G3_412_body_is_operation_outcome_naming_what_is_missing(client) -> None:
    body = hook_request()
    del body["prefetch"]
    response = client.post(SERVICE_URL, json=body)
    assert_outcome(response, 412)
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "patient" in diagnostics and "conditions" in diagnostics


def test_G4_wrong_method_is_405_operation_outcome(client) -> None:
    assert_outcome(client.get(SERVICE_URL), 405)


def test_A6_deeply_nested_envelope_is_400_not_500(client) -> None:
    nested: dict = {}
    node = nested
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    response = client.post(SERVICE_URL, json=hook_request(extension={"org.example.deep": nested}))
    assert_outcome(response, 400)


def test_A6_extremely_deep_prefetch_is_400_not_500(client) -> None:
    body = hook_request()
    raw = (b'{"hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p"},'
           b'"prefetch":{"conditions":' + b"[" * 2000 + b"]" * 2000 + b"}}")
    del body
    response = client.post(SERVICE_URL, content=raw, headers={"content-type": "application/json"})
    assert_outcome(response, 400)
