"""The card must not depend on how the data arrived (spec E5, E9, E11), for every fixture case.

The fixture patients are put on a Medplum server by ``load-fixtures`` (ids kept), paging every single
resource so that any search with two or more results is paged. For each case the whole HTTP response
with the complete prefetch must equal the golden response, the response with no prefetch (everything
read from Medplum) and the responses with random subsets of the prefetch keys. Cases with a prefetch.json
send the EHR's own shapes (informational OperationOutcome entries, included Medications, another patient's
resources): the service must make of them exactly what it reads from Medplum, with ``_include`` of the
medications and a read of each Medication a prefetch named without including it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest

from service.commands.load_fixtures import load
from service.fixtures_catalog import CASES_DIR, Case, list_cases
from tests.fhir.app_client import SERVICE_URL, app_client
from tests.fhir.builders import hook_body
from tests.support.engine import knowledge_for
from tests.support.fhir_server import RunningFhirServer, running_fhir_server

pytestmark = pytest.mark.integration
SUBSETS_PER_CASE = 1  # one random partial prefetch per case: ~120 cases give ~120 different mixes
CASES = list_cases()


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[RunningFhirServer]:
    """Medplum with one resource per page, holding every fixture patient."""
    with running_fhir_server(page_size=1) as server:
        asyncio.run(load(server.base_url, None, CASES_DIR))
        yield server


def test_every_case_is_covered():
    assert len(CASES) >= 30, "the fixture catalogue should hold every case"


def prefetch_variants(case: Case, full: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    rng = random.Random(case.name)
    variants: dict[str, dict[str, Any] | None] = {"full": full, "none": None}
    for n in range(SUBSETS_PER_CASE):
        keys = sorted(k for k in full if rng.random() < 0.5)
        variants[f"subset-{n}:{','.join(keys)}"] = {k: full[k] for k in keys}
    return variants


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_E5_E11_same_card_with_full_partial_or_no_prefetch(case: Case, fixture_server, tmp_path):
    knowledge = knowledge_for(case)
    full = case.prefetch(knowledge.service)
    fixture_server.clear_log()
    responses = {}
    # Generous timeouts: this test is about what the card says, and the shared machine can be slow (the
    # deadline has its own tests in test_deadline.py).
    async with app_client(
        tmp_path, as_of=case.as_of, knowledge=knowledge, fhir_deadline_seconds=15.0, fhir_read_timeout_seconds=10.0
    ) as client:
        for label, prefetch in prefetch_variants(case, full).items():
            body = hook_body(case.patient_id, fhir_server=fixture_server.base_url, prefetch=prefetch)
            body["hookInstance"] = case.hook_instance
            url = SERVICE_URL
            if case.order_context is not None:  # an order-hook case: its hook, context and service
                body["hook"], body["context"] = case.order_context["hook"], case.order_context["context"]
                url = f"/cds-services/back-pain-imaging-{case.order_context['hook']}"
            response = await client.post(url, json=body)
            assert response.status_code == 200, (label, response.text)
            responses[label] = response.json()
    assert responses["full"] == case.expected()
    for label, response in responses.items():
        assert response == responses["full"], label
    searches = {k for k, item in knowledge.service.prefetch.items() if "?" in item.query}
    searched_many = any(len(v) > 1 for k, v in case.record(knowledge.service).resources.items() if k in searches)
    log = fixture_server.request_log()
    paged = any("_offset=" in e["url"] for e in log)
    on_server = {f"/fhir/Medication/{r['id']}" for r in case.resources() if r["resourceType"] == "Medication"}
    reads = {e["url"] for e in log if e["url"].startswith("/fhir/Medication/")}
    assert not reads & on_server, "Medications on the server come included in the search, never read one by one"
    assert paged == searched_many, "every search with two or more results should have been paged"
