"""A Bundle turned into the prefetch an EHR would send (used by ``evaluate --bundle``)."""

from __future__ import annotations

import pytest

from service.cdshooks.models import PatientViewContext
from service.commands.bundle_prefetch import matches, prefetch_from_bundle
from service.fhir.query import FhirQuery
from tests.fhir.builders import SPEC, all_resources, as_prefetch, sample_patient, unrelated_observation


def test_bundle_prefetch_applies_patient_and_code_filters_like_a_server():
    data = sample_patient("bp-1")
    other = sample_patient("bp-2")
    resources = [*all_resources(data), *all_resources(other), unrelated_observation("bp-1")]
    context = PatientViewContext(user_id="Practitioner/d", patient_id="bp-1")
    assert prefetch_from_bundle(resources, SPEC, context) == as_prefetch(data)


def test_missing_patient_is_null():
    context = PatientViewContext(user_id="Practitioner/d", patient_id="nobody")
    assert prefetch_from_bundle([], SPEC, context)["patient"] is None


def test_unknown_search_parameter_is_refused():
    query = FhirQuery("Condition", params=(("clinical-status", "active"),))
    with pytest.raises(ValueError, match="clinical-status"):
        matches({"resourceType": "Condition", "id": "c"}, query)
