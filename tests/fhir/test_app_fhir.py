"""Data access seen from the HTTP API: what an EHR gets back when its FHIR server fails it."""

from __future__ import annotations

import time

import pytest

from service.fixtures_catalog import list_cases
from tests.fhir.app_client import SERVICE_URL, app_client
from tests.fhir.builders import OPTIONAL_KEYS, hook_body, sample_patient
from tests.fhir.stand_ins import hanging_server
from tests.support.engine import knowledge_for
from tests.support.fhir_server import TEST_TOKEN

DEADLINE = 0.5
MARGIN = 0.5


def outcome_text(body: dict[str, object]) -> str:
    assert body["resourceType"] == "OperationOutcome"
    issues = body["issue"]
    assert isinstance(issues, list)
    return " ".join(f"{i.get('diagnostics', '')} {i.get('details', {}).get('text', '')}" for i in issues)


@pytest.mark.integration
async def test_G3_fhir_server_401_gives_412_operation_outcome_naming_the_data(fhir_server_with_token, tmp_path):
    server = fhir_server_with_token
    await server.load(sample_patient("app-401")["patient"])
    body = hook_body("app-401", fhir_server=server.base_url, token="expired-token")
    async with app_client(tmp_path) as client:
        response = await client.post(SERVICE_URL, json=body)
    assert response.status_code == 412
    text = outcome_text(response.json())
    assert "patient (Patient): FHIR server answered HTTP 401" in text
    assert "expired-token" not in response.text and TEST_TOKEN not in response.text


async def test_G3_no_prefetch_and_no_fhir_server_gives_412(tmp_path):
    async with app_client(tmp_path) as client:
        response = await client.post(SERVICE_URL, json=hook_body("app-none"))
    assert response.status_code == 412
    assert "conditions (Condition): the request names no fhirServer" in outcome_text(response.json())


async def test_deadline_through_the_api_required_data_hangs_412(tmp_path):
    """Stand-in: a TCP server that never answers (Medplum always does)."""
    async with hanging_server() as base, app_client(tmp_path, fhir_deadline_seconds=DEADLINE) as client:
        started = time.monotonic()
        response = await client.post(SERVICE_URL, json=hook_body("app-slow", fhir_server=base))
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert response.status_code == 412
    assert "deadline" in outcome_text(response.json())


async def test_deadline_through_the_api_optional_data_hangs_card_says_not_evaluated(tmp_path):
    """Stand-in: a TCP server that never answers; the required data of a fixture case comes in the prefetch."""
    case = next(c for c in list_cases() if c.name == "C1--in--leg-weakness-with-breast-cancer")
    knowledge = knowledge_for(case)
    required = {k: v for k, v in case.prefetch(knowledge.service).items() if k not in OPTIONAL_KEYS}
    settings = {"fhir_deadline_seconds": DEADLINE}
    async with (
        hanging_server() as base,
        app_client(tmp_path, as_of=case.as_of, knowledge=knowledge, **settings) as client,
    ):
        body = hook_body(case.patient_id, fhir_server=base, prefetch=required)
        started = time.monotonic()
        response = await client.post(SERVICE_URL, json=body)
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert response.status_code == 200
    [card] = response.json()["cards"]
    assert card["indicator"] == "critical"
    # C1 is the top tier: data that did not come cannot change it, so the card does not list it.
    assert "Not evaluated" not in card["detail"]


@pytest.mark.integration
async def test_F4_access_token_is_never_logged(fhir_server_with_token, tmp_path, capsys, caplog):
    server = fhir_server_with_token
    await server.load(sample_patient("app-log")["patient"])
    async with app_client(tmp_path) as client:
        for token, status in ((TEST_TOKEN, 200), ("expired-token-5be1", 412)):
            body = hook_body("app-log", fhir_server=server.base_url, token=token)
            response = await client.post(SERVICE_URL, json=body)
            assert response.status_code == status
    captured = capsys.readouterr()  # one read: a second readouterr() returns only what came after the first
    logged = captured.out + captured.err + caplog.text
    assert "fhir.unavailable" in logged, "the failed callbacks should have been logged"
    assert TEST_TOKEN not in logged and "expired-token-5be1" not in logged
