"""Full FHIR R4 validation (fhir.resources.R4B) of every fixture resource, every emitted ServiceRequest and
every ValueSet in cards/. This is the only test module that imports fhir.resources (never the request path).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.fixtures_catalog import Case, list_cases
from tests.support.engine import CARDS_DIR, run_case

CASES = list_cases()


def validate(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_bundle_and_resources_are_valid_r4(case: Case) -> None:
    validate(case.bundle)
    for resource in case.resources():
        validate(resource)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.tier in ("C1", "C1M", "C2", "C3", "C3R")], ids=lambda c: c.name
)
def test_emitted_service_requests_are_valid_r4(case: Case) -> None:
    _, response = run_case(case)
    resources = [
        a["resource"] for card in response["cards"] for s in card.get("suggestions", []) for a in s["actions"]
    ]
    assert resources, "a C1-C3R card proposes at least a referral or a blood test"
    for resource in resources:
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["occurrencePeriod"]["end"].endswith("Z")
        validate(resource)


@pytest.mark.parametrize("path", sorted((CARDS_DIR / "valuesets").glob("*.json")), ids=lambda p: p.stem)
def test_value_sets_are_valid_r4(path: Any) -> None:
    validate(json.loads(path.read_text(encoding="utf-8")))
