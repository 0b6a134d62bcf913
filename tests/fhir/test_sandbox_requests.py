"""The Medplum test server answers the requests the real CDS Hooks sandbox sends (cds-hooks/sandbox).

The sandbox (src/retrieve-data-helpers/service-exchange.js) renders each prefetch template of the discovery
document for the patient in context, then for a search sends ``POST {fhir}/{Type}/_search`` with the query
as a form-encoded body and ``Accept: application/json+fhir``; when that fails it retries
``GET {Type}?{query}``. It never follows ``next`` links, so the server runs at its default page size (20),
as in the README walkthrough. The ids it puts into ``patient=`` are bare (``c1a-pat``, not
``Patient/c1a-pat``). A server that answers those with nothing gives a false "all clear".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from service.fhir.upload import put_resources
from service.fixtures_catalog import Case, group_resources, list_cases
from tests.fhir.app_client import SERVICE_URL, app_client
from tests.fhir.builders import SPEC
from tests.support.fhir_server import RunningFhirServer, running_fhir_server

pytestmark = pytest.mark.integration

SANDBOX_ACCEPT = {"Accept": "application/json+fhir"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
# One case per kind of data the templates fetch: conditions only (C1), and weights (C3 weight loss).
CASES = {c.name: c for c in list_cases()}
REPLAYED = ["C1--in--leg-weakness-with-breast-cancer", "C3--in--weight-loss-lumbar"]


@pytest.fixture(scope="module")
def sandbox_fhir() -> Iterator[RunningFhirServer]:
    with running_fhir_server(page_size=20) as server:
        yield server


def rendered(template: str, patient_id: str) -> str:
    """The sandbox's ``completePrefetchTemplate``: ``{{context.patientId}}`` becomes the bare id."""
    return template.replace("{{context.patientId}}", patient_id)


def form_body(query: str) -> str:
    """What ``new URLSearchParams(query).toString()`` sends: each value decoded, then form-encoded."""
    return urlencode(parse_qsl(query, keep_blank_values=True))


def entry_ids(bundle: dict[str, Any], resource_type: str) -> set[str]:
    return {
        e["resource"]["id"]
        for e in bundle.get("entry") or []
        if e.get("resource", {}).get("resourceType") == resource_type
    }


async def load_case(server: RunningFhirServer, case: Case) -> None:
    async with httpx.AsyncClient() as http:
        await put_resources(http, server.as_server(), case.resources_as_of(datetime.now(UTC).date()))


async def sandbox_prefetch(server: RunningFhirServer, patient_id: str, *, post: bool) -> dict[str, Any]:
    """Every template fetched the sandbox's way: POST _search (``post``) or the GET fallback."""
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=server.base_url + "/", timeout=10) as http:
        for key, spec in SPEC.prefetch.items():
            path, _, query = rendered(spec.query, patient_id).partition("?")
            if not query:
                response = await http.get(path, headers=SANDBOX_ACCEPT)
            elif post:
                response = await http.post(
                    f"{path}/_search", content=form_body(query), headers={**SANDBOX_ACCEPT, **FORM}
                )
            else:
                response = await http.get(f"{path}?{form_body(query)}", headers=SANDBOX_ACCEPT)
            assert response.status_code == 200, (key, response.text)
            out[key] = response.json()
    return out


def assert_case_data(prefetch: dict[str, Any], case: Case) -> None:
    expected = group_resources(case.resources(), SPEC)
    for key, spec in SPEC.prefetch.items():
        want = {str(r["id"]) for r in expected[key]}
        if "?" not in spec.query:
            assert prefetch[key]["id"] in want, key
            continue
        bundle = prefetch[key]
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", key
        assert entry_ids(bundle, spec.resource_type) == want, key
        assert bundle["total"] == len(want), key


@pytest.mark.parametrize("post", [True, False], ids=["POST-_search-form", "GET-fallback-bare-id"])
@pytest.mark.parametrize("name", REPLAYED)
async def test_sandbox_requests_return_the_fixture_patients_data(
    sandbox_fhir: RunningFhirServer, name: str, post: bool
) -> None:
    case = CASES[name]
    await load_case(sandbox_fhir, case)
    prefetch = await sandbox_prefetch(sandbox_fhir, case.patient_id, post=post)
    assert_case_data(prefetch, case)
    assert sum(len(b.get("entry") or []) for b in prefetch.values() if "entry" in b) > 1


async def test_sandbox_prefetch_gives_the_critical_card_not_all_clear(
    sandbox_fhir: RunningFhirServer, tmp_path: Path
) -> None:
    """End to end as in the sandbox: what its requests fetched, sent as prefetch, yields the C1 card."""
    case = CASES["C1--in--leg-weakness-with-breast-cancer"]
    await load_case(sandbox_fhir, case)
    prefetch = await sandbox_prefetch(sandbox_fhir, case.patient_id, post=True)
    body = {
        "hook": "patient-view",
        "hookInstance": "6e1f5a0c-8a8e-4c2b-9a57-3f2f6f0e2b11",
        "context": {"userId": "Practitioner/example", "patientId": case.patient_id},
        "prefetch": prefetch,
    }
    async with app_client(tmp_path) as client:
        response = await client.post(SERVICE_URL, json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert [c["indicator"] for c in cards] == ["critical"]


async def test_form_search_with_a_json_body_is_refused_not_misread(sandbox_fhir: RunningFhirServer) -> None:
    response = httpx.post(
        f"{sandbox_fhir.base_url}/Condition/_search",
        content='{"patient": "x"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"
