"""The card must not depend on how the data arrived (spec E5, E9, E11), for every fixture case.

The fixture patients are put on a Medplum server by ``load-fixtures`` (ids kept), paging every single
resource so that any search with two or more results is paged. For each case the whole HTTP response
with the complete prefetch must equal the golden response, the response with no prefetch (everything
read from Medplum) and the responses with random subsets of the prefetch keys.
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
SUBSETS_PER_CASE = 2
# The card must not depend on how the data arrived; the production deadline and timeouts have their own tests
# (test_deadline.py, test_client_faults.py). Here they are wider, so a loaded CI machine paging one resource
# at a time cannot turn a case into a 412 or a "not evaluated" line.
LOADED_MACHINE = {"fhir_deadline_seconds": 15, "fhir_read_timeout_seconds": 10, "fhir_connect_timeout_seconds": 5}
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
    async with app_client(tmp_path, as_of=case.as_of, knowledge=knowledge, **LOADED_MACHINE) as client:
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
    searched_many = any(len(v.get("entry", [])) > 1 for v in full.values() if v and v["resourceType"] == "Bundle")
    paged = any("_offset=" in e["url"] for e in fixture_server.request_log())
    assert paged == searched_many, "every search with two or more results should have been paged"
