"""Date shifting keeps every interval a case measures, so shifted cases give the same card."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.date_shift import shift_dates
from service.engine import evaluate
from service.fixtures_catalog import list_cases
from service.gather import record_from_prefetch
from service.knowledge import load_knowledge
from service.settings import REPO_ROOT


def test_full_dates_and_datetimes_move_partial_dates_and_other_text_do_not() -> None:
    resource = {
        "birthDate": "1960-02-28",
        "onsetDateTime": "2026-03-01T08:30:00Z",
        "effectiveDateTime": "2026-03-01T08:30:00+02:00",
        "recordedDate": "2026-03-01T08:30:00.123Z",
        "note": [{"text": "pain since 2026-03-01, worse at night"}],
        "partial": "2026-03",
        "year": "2026",
        "code": {"coding": [{"code": "29463-7"}]},
        "value": 80.5,
    }
    moved = shift_dates(resource, 2)
    assert moved["birthDate"] == "1960-03-01"
    assert moved["onsetDateTime"] == "2026-03-03T08:30:00Z"
    assert moved["effectiveDateTime"] == "2026-03-03T08:30:00+02:00"
    assert moved["recordedDate"] == "2026-03-03T08:30:00.123000Z"
    assert moved["note"] == resource["note"]
    unchanged = ("partial", "year", "code", "value")
    assert [moved[k] for k in unchanged] == [resource[k] for k in unchanged]


@pytest.mark.parametrize("case", [c for c in list_cases() if not c.config_overrides], ids=lambda c: c.name)
def test_a_shifted_case_gives_its_card_at_the_shifted_today(case) -> None:
    knowledge = load_knowledge(REPO_ROOT / "cards")
    today = date(2026, 11, 25)
    now = datetime.combine(today, case.as_of.timetz()).astimezone(UTC)
    days = (today - case.as_of.date()).days
    # The service's own prefetch path (medication references, identity), on the case's prefetch shifted whole.
    prefetch = shift_dates(case.prefetch(knowledge.service), days)
    record = record_from_prefetch(prefetch, case.patient_id, knowledge.service)
    result = evaluate(record, knowledge, now, case.hook_instance)
    assert result.tier == case.tier
    assert result.flags == evaluate(case.record(knowledge.service), knowledge, case.as_of, case.hook_instance).flags
