"""Property: ``evaluate`` never raises, whatever FHIR-shaped junk an EHR sends for the types it reads.

Prefetch content is attacker- or bug-controlled; a crash there is a 500 for the clinician. The
strategies mix plausible FHIR (codings, dates, references) with wrong types, missing fields and odd dates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.engine import evaluate
from service.knowledge import Knowledge, load_knowledge
from service.record import PatientRecord
from service.settings import Settings

KNOWLEDGE: Knowledge = load_knowledge(Settings(_env_file=None).knowledge_dir)
RESOURCE_TYPES = {key: template.resource_type for key, template in KNOWLEDGE.service.prefetch.items()}

ODD_DATES = [
    "2024",
    "2024-02",
    "2024-02-30",
    "1850-01-01",
    "9999-12-31",
    "2024-13-01",
    "yesterday",
    "",
    "2024-01-01T25:61:00Z",
    "2024-01-01T10:00:00+14:00",
    "-0001-01-01",
    "2024-06-01T00:00:00",
]
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.none(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.none(), max_size=2),
)
dates = st.one_of(st.sampled_from(ODD_DATES), st.dates().map(str), junk)
codes = st.one_of(st.sampled_from(["C79.5", "M54.5", "R50.9", "active", "final", "26604007"]), junk)
coding = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(st.sampled_from(["http://snomed.info/sct", "http://loinc.org"]), junk),
        "code": codes,
        "display": st.one_of(st.text(max_size=20), junk),
    },
)
concept = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "coding": st.one_of(st.lists(coding, max_size=3), junk),
            "text": st.one_of(st.text(max_size=20), junk),
        },
    ),
    junk,
)
quantity = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"value": st.one_of(st.floats(), st.integers(), junk), "unit": junk, "code": junk}
    ),
    junk,
)
FIELDS: dict[str, Any] = {
    "id": st.one_of(st.text(max_size=10), junk),
    "status": codes,
    "clinicalStatus": concept,
    "verificationStatus": concept,
    "category": st.one_of(st.lists(concept, max_size=2), concept),
    "code": concept,
    "subject": st.one_of(st.fixed_dictionaries({"reference": st.one_of(st.text(), junk)}), junk),
    "onsetDateTime": dates,
    "recordedDate": dates,
    "effectiveDateTime": dates,
    "issued": dates,
    "authoredOn": dates,
    "performedDateTime": dates,
    "started": dates,
    "birthDate": dates,
    "gender": codes,
    "deceasedBoolean": junk,
    "valueQuantity": quantity,
    "valueCodeableConcept": concept,
    "interpretation": st.one_of(st.lists(concept, max_size=2), junk),
    "medicationCodeableConcept": concept,
    "effectivePeriod": st.one_of(st.fixed_dictionaries({}, optional={"start": dates, "end": dates}), junk),
    "note": st.one_of(st.lists(st.fixed_dictionaries({"text": st.text(max_size=20)}), max_size=2), junk),
    "intent": codes,
    "modality": st.one_of(st.lists(coding, max_size=2), junk),
    "conclusion": junk,
}


def resource(resource_type: str) -> st.SearchStrategy[dict[str, Any]]:
    typed = st.fixed_dictionaries({"resourceType": st.just(resource_type)}, optional=FIELDS)
    return st.one_of(
        typed,
        typed.map(lambda r: {**r, "resourceType": "OperationOutcome"}),
        st.dictionaries(st.text(max_size=8), junk, max_size=4),
    )


@st.composite
def records(draw: st.DrawFn) -> PatientRecord:
    keys = draw(st.lists(st.sampled_from(sorted(RESOURCE_TYPES)), unique=True))
    resources = {key: draw(st.lists(resource(RESOURCE_TYPES[key]), max_size=4)) for key in keys}
    unavailable = frozenset(draw(st.lists(st.sampled_from(sorted(RESOURCE_TYPES)), unique=True, max_size=3)))
    return PatientRecord(draw(st.text(min_size=1, max_size=10)), resources, unavailable - set(keys))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(record=records(), now=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
def test_engine_never_raises_on_generated_fhir(record: PatientRecord, now: datetime) -> None:
    result = evaluate(record, KNOWLEDGE, now.replace(tzinfo=UTC), "hook-instance-1")
    assert isinstance(result.cards, list)
    assert len(result.cards) <= 1  # the engine's contract: at most one card
