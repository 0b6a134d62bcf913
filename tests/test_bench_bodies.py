"""The benchmark's bodies: the typical one (a fixture case plus Synthea history) gives the case's C1 card,
the small one (a fixture case's own prefetch) its C3R card."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from service.api.parsing import parse_body
from service.bench.bodies import MEDIUM_RESOURCES, TYPICAL_RESOURCES, large_body, medium_body, small_body, typical_body
from service.bench.micro import run_now
from service.cdshooks.models import HookRequest
from service.engine import evaluate
from service.gather import gather
from service.settings import Settings
from tests.support.engine import knowledge

TODAY = date(2027, 5, 4)

# The bodies are built from Synthea patients of the shared data folder: fail, naming it, when it is missing.
pytestmark = pytest.mark.usefixtures("shared_synthea")


def test_typical_body_is_deterministic_for_a_date_and_about_eighty_resources() -> None:
    spec = knowledge().service
    body = typical_body(spec, TODAY)
    assert body.payload == typical_body(spec, TODAY).payload
    assert body.describe()["resources"] == TYPICAL_RESOURCES
    assert body.patient_id == "c1a-pat"
    subjects = {r["subject"]["reference"] for r in body.resources if "subject" in r}
    assert subjects == {"Patient/c1a-pat"}


def test_typical_body_produces_a_critical_c1_card_at_its_date() -> None:
    k = knowledge()
    body = typical_body(k.service, TODAY)
    request = parse_body(body.payload, HookRequest)
    record = run_now(gather(request, k.service, Settings(_env_file=None), None))
    now = datetime.combine(TODAY, time(10), UTC)
    result = evaluate(record, k, now, request.hook_instance)
    assert result.tier == "C1"
    assert [card.indicator for card in result.cards] == ["critical"]
    assert result.skipped_resources == 0


def test_small_body_is_about_six_kilobytes_and_produces_the_cases_card_at_its_date() -> None:
    k = knowledge()
    body = small_body(k.service, TODAY)
    assert body.payload == small_body(k.service, TODAY).payload
    assert 4_000 < len(body.payload) < 8_000
    request = parse_body(body.payload, HookRequest)
    record = run_now(gather(request, k.service, Settings(_env_file=None), None))
    result = evaluate(record, k, datetime.combine(TODAY, time(10), UTC), request.hook_instance)
    assert result.tier == "C3R"
    assert len(result.cards) == 1


def test_medium_body_is_the_large_patients_newest_resources_at_about_215_kilobytes() -> None:
    spec = knowledge().service
    medium, large = medium_body(spec), large_body(spec)
    assert medium.payload == medium_body(spec).payload
    assert 200_000 < len(medium.payload) < 230_000
    assert medium.describe()["resources"] == MEDIUM_RESOURCES
    assert medium.patient_id == large.patient_id
    keys = {(r["resourceType"], r["id"]) for r in medium.resources}
    assert keys < {(r["resourceType"], r["id"]) for r in large.resources}
