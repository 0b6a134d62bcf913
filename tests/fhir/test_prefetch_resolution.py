"""The states of one prefetch value (spec E6, E7, E8) and shapes we refuse to trust."""

from __future__ import annotations

from typing import Any

import pytest

from service.cdshooks.prefetch import UNSATISFIED, Prefetched, resolve_prefetch

CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if resources:
        value["entry"] = [{"resource": r} for r in resources]
    if next_url:
        value["link"] = [{"relation": "next", "url": next_url}]
    return value


def test_E6_absent_key_is_unsatisfied():
    assert resolve_prefetch({"patient": None}, "conditions", "Condition") is UNSATISFIED
    assert resolve_prefetch(None, "conditions", "Condition") is UNSATISFIED


def test_E6_null_means_no_data():
    assert resolve_prefetch({"conditions": None}, "conditions", "Condition") == Prefetched([])


def test_E6_bundle_with_zero_entries_means_no_data():
    assert resolve_prefetch({"conditions": bundle()}, "conditions", "Condition") == Prefetched([])


def test_bundle_entries_are_unwrapped():
    got = resolve_prefetch({"conditions": bundle(CONDITION)}, "conditions", "Condition")
    assert got == Prefetched([CONDITION]) and got.complete


def test_single_resource_read_is_taken_as_is():
    patient = {"resourceType": "Patient", "id": "p1"}
    assert resolve_prefetch({"patient": patient}, "patient", "Patient") == Prefetched([patient])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(OUTCOME, id="E7-outcome-alone"),
        pytest.param(bundle(CONDITION, OUTCOME), id="E7-outcome-in-bundle"),
        pytest.param({"resourceType": "Patient", "id": "p1"}, id="wrong-resource-type"),
        pytest.param(["not", "an", "object"], id="not-an-object"),
        pytest.param("Condition/c1", id="a-string"),
        pytest.param({"entry": []}, id="no-resource-type"),
    ],
)
def test_untrusted_shapes_are_unsatisfied(value: Any):
    assert resolve_prefetch({"conditions": value}, "conditions", "Condition") is UNSATISFIED


def test_E8_paginated_prefetch_keeps_first_page_and_next_link():
    got = resolve_prefetch(
        {"conditions": bundle(CONDITION, next_url="https://ehr.example/fhir/Condition?page=2")},
        "conditions",
        "Condition",
    )
    assert got.resources == [CONDITION]
    assert got.next_url == "https://ehr.example/fhir/Condition?page=2"
    assert not got.complete


def test_other_resource_types_in_a_bundle_are_dropped():
    included = {"resourceType": "Patient", "id": "p1"}
    got = resolve_prefetch({"conditions": bundle(CONDITION, included)}, "conditions", "Condition")
    assert got == Prefetched([CONDITION])
