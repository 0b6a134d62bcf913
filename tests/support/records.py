"""Build a PatientRecord from a few resources (the fixture builders of scripts/fixture_kit.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scripts.fixture_kit import AS_OF
from service.engine import Evaluation, evaluate
from service.fixtures_catalog import record_from_resources
from service.knowledge import Knowledge
from service.record import PatientRecord
from tests.support.engine import knowledge


def record(
    slug: str, resources: list[dict[str, Any]], unavailable: frozenset[str] = frozenset()
) -> PatientRecord:
    base = record_from_resources(f"{slug}-pat", resources, knowledge().service)
    resources_by_key = {k: v for k, v in base.resources.items() if k not in unavailable}
    return PatientRecord(patient_id=base.patient_id, resources=resources_by_key, unavailable=unavailable)


def run(
    slug: str,
    resources: list[dict[str, Any]],
    *,
    now: datetime = AS_OF,
    k: Knowledge | None = None,
    unavailable: frozenset[str] = frozenset(),
    hook: str = "test",
) -> Evaluation:
    return evaluate(record(slug, resources, unavailable), k or knowledge(), now, hook)
