"""The pre-validation filter never drops a resource a rule could use: filter on and off give the same findings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.assessment import assess
from service.engine import evaluate
from service.facts import build_facts
from service.fixtures_catalog import Case, list_cases
from service.knowledge import Knowledge
from service.record import PatientRecord
from tests.support.engine import knowledge, knowledge_for
from tests.support.shared import synthea, synthea_params

CASES = list_cases()
SYNTHEA = synthea_params()
T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"


class KeepAll:
    def keep(self, resource: Mapping[str, Any]) -> bool:
        return True


def _same_either_way(record: PatientRecord, k: Knowledge, now: datetime) -> None:
    unfiltered = dataclasses.replace(k, relevance=KeepAll())  # type: ignore[arg-type]
    assert evaluate(record, k, now, "h") == evaluate(record, unfiltered, now, "h")
    types = {key: spec.resource_type for key, spec in k.service.prefetch.items()}
    on = assess(build_facts(record, types, now, k.relevance.keep), k, now)
    off = assess(build_facts(record, types, now), k, now)
    assert on.findings == off.findings and on.in_scope == off.in_scope


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_case_findings_do_not_depend_on_the_filter(case: Case) -> None:
    k = knowledge_for(case)
    _same_either_way(case.record(k.service), k, case.as_of)


@pytest.mark.parametrize("path", SYNTHEA, ids=lambda p: p.name[:24] if isinstance(p, Path) else None)
def test_synthea_findings_do_not_depend_on_the_filter(path: Path | None) -> None:
    k = knowledge()
    resources = [e["resource"] for e in json.loads(synthea(path).read_text(encoding="utf-8"))["entry"]]
    by_type = {spec.resource_type: key for key, spec in k.service.prefetch.items()}
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in k.service.prefetch}
    for r in resources:
        if r["resourceType"] in by_type:
            grouped[by_type[r["resourceType"]]].append(r)
    patient_id = grouped["patient"][0]["id"]
    _same_either_way(PatientRecord(patient_id, grouped), k, T)


def _obs(system: Any, code: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "o", "code": {"coding": [{"system": system, "code": code}]}}


@pytest.mark.parametrize(
    ("resource", "kept"),
    [
        (_obs(LOINC, "8867-4"), False),  # heart rate: no rule reads it
        (_obs(LOINC, " 29463-7 "), True),  # body weight, normalised
        (_obs(LOINC, "75325-1"), True),  # symptom Observation
        (_obs(LOINC, 29463), True),  # unreadable: validation decides and counts it
        ({"resourceType": "Observation", "id": "o", "code": "x"}, True),
        ({"resourceType": "Observation", "id": "o"}, False),
        ({"resourceType": "Condition", "id": "c"}, True),  # text is read: never filtered
        ({"resourceType": "CarePlan", "id": "p", "activity": [{"detail": {"code": {"coding": [
            {"system": SNOMED, "code": "91251008"}]}}}]}, True),  # physical therapy
        ({"resourceType": "CarePlan", "id": "p", "activity": ["junk"]}, True),
        ({"resourceType": "DiagnosticReport", "id": "d", "code": {"coding": [{"system": LOINC, "code": "24323-8"}]}},
         False),
    ],
)
def test_keep(resource: dict[str, Any], kept: bool) -> None:
    assert knowledge().relevance.keep(resource) is kept
