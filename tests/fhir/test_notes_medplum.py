"""Clinical notes read through a real FHIR server (Medplum): the category search and a note behind a Binary URL.

CLINICAL_RULES.md item 30: a DocumentReference whose attachment has only a ``url`` is read as a Binary from
fhirServer under the request deadline; its text then counts like inline text.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.cdshooks.models import HookRequest
from service.engine import evaluate
from service.fhir.client import FhirClient
from service.fhir.identity import id_of
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import NOTE_CATEGORY_SYSTEM, SPEC, hook_body, settings
from tests.support.engine import knowledge
from tests.support.fhir_server import RunningFhirServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client() -> AsyncIterator[FhirClient]:
    async with FhirHttp(connect_timeout=5, read_timeout=5) as http:
        yield FhirClient(http, page_cap=20)


def resources(pid: str, now: datetime, text: str, *, other_category: bool = False) -> list[dict[str, Any]]:
    subject = {"reference": f"Patient/{pid}"}
    day = (now - timedelta(days=30)).date().isoformat()
    category = "other" if other_category else "clinical-note"
    return [
        {"resourceType": "Patient", "id": pid, "birthDate": "1980-05-01", "gender": "male"},
        {
            "resourceType": "Condition",
            "id": f"{pid}-bp",
            "subject": subject,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.50"}]},
            "onsetDateTime": day,
        },
        {
            "resourceType": "Binary",
            "id": f"{pid}-text",
            "contentType": "text/plain",
            "data": base64.b64encode(text.encode()).decode(),
        },
        {
            "resourceType": "DocumentReference",
            "id": f"{pid}-note",
            "status": "current",
            "subject": subject,
            "category": [{"coding": [{"system": NOTE_CATEGORY_SYSTEM, "code": category}]}],
            "date": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content": [{"attachment": {"contentType": "text/plain", "url": f"Binary/{pid}-text"}}],
        },
    ]


async def test_a_note_behind_a_binary_url_is_read_from_the_fhir_server(fhir_server: RunningFhirServer, client):
    now = datetime.now(UTC)
    await fhir_server.load(resources("note-bin-1", now, "Back pain now wakes him at night, no leg symptoms."))
    fhir_server.clear_log()
    request = HookRequest.model_validate(hook_body("note-bin-1", fhir_server=fhir_server.base_url))
    record = await gather(request, SPEC, settings(), client, now)
    assert [id_of(r) for r in record.of("clinicalNotes")] == ["note-bin-1-note"]
    assert list(record.binaries) == ["Binary/note-bin-1-text"]
    assert any("/Binary/note-bin-1-text" in e["url"] for e in fhir_server.request_log())
    result = evaluate(record, knowledge(), now, "note-bin-1")
    # One weak sign (night pain, from the note) under 50 and under 42 days: C3R (revision 2 item 27).
    assert result.tier == "C3R"
    detail = result.cards[0].detail
    assert "DocumentReference/note-bin-1-note" in detail
    note_day = (now - timedelta(days=1)).date().isoformat()
    assert f'from the note of {note_day}: "Back pain now wakes him at night' in detail


async def test_a_negated_note_behind_a_binary_gives_no_card(fhir_server: RunningFhirServer, client):
    now = datetime.now(UTC)
    await fhir_server.load(resources("note-bin-2", now, "Denies night pain. No saddle anaesthesia."))
    request = HookRequest.model_validate(hook_body("note-bin-2", fhir_server=fhir_server.base_url))
    record = await gather(request, SPEC, settings(), client, now)
    assert list(record.binaries) == ["Binary/note-bin-2-text"]
    assert evaluate(record, knowledge(), now, "note-bin-2").cards == []


async def test_the_template_asks_only_for_clinical_notes(fhir_server: RunningFhirServer, client):
    now = datetime.now(UTC)
    await fhir_server.load(resources("note-bin-3", now, "Pain wakes him at night.", other_category=True))
    request = HookRequest.model_validate(hook_body("note-bin-3", fhir_server=fhir_server.base_url))
    record = await gather(request, SPEC, settings(), client, now)
    assert record.of("clinicalNotes") == []
    assert record.binaries == {}
