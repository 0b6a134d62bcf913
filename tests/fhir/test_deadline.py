"""One deadline for all FHIR callbacks of an invocation, even when the server never answers.

Stand-in: a local TCP server that accepts connections, reads the request and never replies. Medplum
always answers, so it cannot show a hang. The read timeout is set far above the deadline, so only the
deadline can end the wait.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from service.cdshooks.models import HookRequest
from service.errors import RequiredDataUnavailable
from service.fhir.client import FhirClient
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import OPTIONAL_KEYS, SPEC, as_prefetch, hook_body, sample_patient, settings
from tests.fhir.stand_ins import hanging_server

DEADLINE = 0.5
MARGIN = 0.5


@pytest.fixture
async def slow_client() -> AsyncIterator[FhirClient]:
    async with FhirHttp(connect_timeout=1.0, read_timeout=30.0) as http:
        yield FhirClient(http)


async def test_deadline_gives_412_when_required_data_hangs(slow_client):
    async with hanging_server() as base:
        started = time.monotonic()
        with pytest.raises(RequiredDataUnavailable, match="deadline") as caught:
            await gather(
                HookRequest.model_validate(hook_body("slow-1", fhir_server=base)),
                SPEC,
                settings(fhir_deadline_seconds=DEADLINE),
                slow_client,
            )
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert "patient (Patient)" in caught.value.message


async def test_deadline_marks_hanging_optional_data_unavailable(slow_client):
    required = {k: v for k, v in as_prefetch(sample_patient("slow-2")).items() if k not in OPTIONAL_KEYS}
    async with hanging_server() as base:
        started = time.monotonic()
        record = await gather(
            HookRequest.model_validate(hook_body("slow-2", fhir_server=base, prefetch=required)),
            SPEC,
            settings(fhir_deadline_seconds=DEADLINE),
            slow_client,
        )
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert record.unavailable == OPTIONAL_KEYS
    assert [r["id"] for r in record.of("patient")] == ["slow-2"]
