"""The card must not depend on how the data arrived (spec E5, E9, E11).

For every case, the whole HTTP response with the complete prefetch must equal the response with no
prefetch (everything read from Medplum, paged every 2 resources) and with random subsets of keys.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fhir.app_client import SERVICE_URL, app_client
from tests.fhir.builders import all_resources, as_prefetch, hook_body, sample_patient, unrelated_observation
from tests.support.fhir_server import RunningFhirServer

pytestmark = pytest.mark.integration
SUBSETS_PER_CASE = 3


@dataclass(frozen=True)
class EquivalenceCase:
    name: str
    patient_id: str
    resources: list[dict[str, Any]]
    prefetch: dict[str, Any]
    as_of: datetime


def cases() -> list[EquivalenceCase]:
    found = []
    for pid in ("equiv-a", "equiv-b"):
        data = sample_patient(pid)
        resources = [*all_resources(data), unrelated_observation(pid)]
        found.append(EquivalenceCase(pid, pid, resources, as_prefetch(data), datetime(2024, 6, 1, tzinfo=UTC)))
    return found


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
async def test_E5_E11_same_response_with_full_partial_or_no_prefetch(
    case: EquivalenceCase, fhir_server: RunningFhirServer, tmp_path
):
    await fhir_server.load(case.resources)
    fhir_server.clear_log()
    rng = random.Random(case.name)
    prefetches: dict[str, dict[str, Any] | None] = {"full": case.prefetch, "none": None}
    for n in range(SUBSETS_PER_CASE):
        keys = sorted(k for k in case.prefetch if rng.random() < 0.5)
        prefetches[f"subset-{n}:{','.join(keys)}"] = {k: case.prefetch[k] for k in keys}
    responses = {}
    async with app_client(tmp_path, as_of=case.as_of) as client:
        for label, prefetch in prefetches.items():
            body = hook_body(case.patient_id, fhir_server=fhir_server.base_url, prefetch=prefetch)
            response = await client.post(SERVICE_URL, json=body)
            assert response.status_code == 200, (label, response.text)
            responses[label] = response.json()
    assert any("_offset=" in e["url"] for e in fhir_server.request_log()), "no search was paged"
    for label, response in responses.items():
        assert response == responses["full"], label
