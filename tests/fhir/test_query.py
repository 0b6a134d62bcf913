"""Prefetch templates rendered into FHIR queries (spec E1-E3, and the URL-encoding pitfall)."""

from __future__ import annotations

import pytest

from service.cdshooks.models import PatientViewContext
from service.fhir.query import FhirQuery, TemplateError, render

CONTEXT = PatientViewContext(user_id="Practitioner/doc-1", patient_id="pat-1")


def test_E2_patient_read_template_is_a_read_by_id():
    assert render("Patient/{{context.patientId}}", CONTEXT) == FhirQuery("Patient", id="pat-1")


def test_patient_parameter_is_written_in_reference_form():
    query = render("Condition?patient={{context.patientId}}", CONTEXT)
    assert query.params == (("patient", "Patient/pat-1"),)
    assert query.relative_url() == "Condition?patient=Patient%2Fpat-1"


def test_token_parameter_bar_is_percent_encoded_and_commas_kept():
    template = "Observation?patient={{context.patientId}}&code=http://loinc.org|1-8,http://loinc.org|2-6"
    query = render(template, CONTEXT)
    assert query.relative_url() == (
        "Observation?patient=Patient%2Fpat-1&code=http%3A%2F%2Floinc.org%7C1-8,http%3A%2F%2Floinc.org%7C2-6"
    )


def test_E3_user_tokens_come_from_user_id():
    assert render("Practitioner/{{userPractitionerId}}", CONTEXT) == FhirQuery("Practitioner", id="doc-1")


def test_token_without_a_value_cannot_be_rendered():
    with pytest.raises(TemplateError, match="encounterId"):
        render("Encounter/{{context.encounterId}}", CONTEXT)


def test_sort_and_count_parameters_pass_through():
    query = render("Observation?patient={{context.patientId}}&_sort=-date&_count=5", CONTEXT)
    assert query.relative_url() == "Observation?patient=Patient%2Fpat-1&_sort=-date&_count=5"
