"""Small patients and CDS Hooks requests for data-access tests (fixture cases cover clinical content)."""

from __future__ import annotations

from typing import Any

from service.fhir.decode import as_builtin
from service.fhir.identity import id_of
from service.knowledge import load_knowledge
from service.knowledge.service_spec import ServiceSpec
from service.settings import REPO_ROOT, Settings

SPEC: ServiceSpec = load_knowledge(REPO_ROOT / "cards").service
OPTIONAL_KEYS = frozenset(k for k, s in SPEC.prefetch.items() if not s.required)
LOINC_IN_TEMPLATE = "29463-7"  # body weight: one of the codes the observations template asks for
NOTE_CATEGORY_SYSTEM = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sample_patient(pid: str) -> dict[str, list[dict[str, Any]]]:
    """Resources per prefetch key for one patient, several per search so that paging happens."""
    subject = {"reference": f"Patient/{pid}"}

    def many(kind: str, n: int, **fields: Any) -> list[dict[str, Any]]:
        return [
            {"resourceType": kind, "id": f"{pid}-{kind.lower()}-{i}", "subject": subject, **fields} for i in range(n)
        ]

    weight = {"coding": [{"system": "http://loinc.org", "code": LOINC_IN_TEMPLATE}]}
    return {
        "patient": [{"resourceType": "Patient", "id": pid, "birthDate": "1958-04-02", "gender": "female"}],
        "conditions": many("Condition", 5, code={"text": "back pain"}),
        "observations": many("Observation", 3, status="final", code=weight, valueQuantity={"value": 61}),
        "medicationRequests": many(
            "MedicationRequest",
            2,
            status="active",
            intent="order",
            medicationCodeableConcept={"text": "ibuprofen"},
        ),
        "medicationStatements": many(
            "MedicationStatement", 1, status="active", medicationCodeableConcept={"text": "paracetamol"}
        ),
        "procedures": many("Procedure", 1, status="completed"),
        "serviceRequests": many("ServiceRequest", 3, status="active", intent="order"),
        "diagnosticReports": many("DiagnosticReport", 1, status="final", code={"text": "x-ray"}),
        "carePlans": many("CarePlan", 1, status="active", intent="plan"),
        "imagingStudies": many("ImagingStudy", 1, status="available"),
        "clinicalNotes": many(
            "DocumentReference",
            2,
            status="current",
            category=[{"coding": [{"system": NOTE_CATEGORY_SYSTEM, "code": "clinical-note"}]}],
            content=[{"attachment": {"contentType": "text/plain", "data": "QmFjayBwYWluLg=="}}],
        ),
    }


def unrelated_observation(pid: str) -> dict[str, Any]:
    """An observation the template's code filter must leave out."""
    return {
        "resourceType": "Observation",
        "id": f"{pid}-obs-other",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    }


def all_resources(data: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for resources in data.values() for r in resources]


def as_prefetch(data: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What a complete EHR prefetch for ``data`` looks like: reads bare, searches as Bundles."""
    prefetch: dict[str, Any] = {}
    for key, resources in data.items():
        if SPEC.prefetch[key].query.count("?") == 0:
            prefetch[key] = resources[0] if resources else None
        else:
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(resources),
                "entry": [{"resource": r} for r in resources],
            }
    return prefetch


def hook_body(
    pid: str,
    *,
    fhir_server: str | None = None,
    token: str | None = None,
    prefetch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": f"hook-{pid}",
        "context": {"userId": "Practitioner/doc-1", "patientId": pid},
    }
    if fhir_server:
        body["fhirServer"] = fhir_server
    if token:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "backpain-cds",
        }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def ids(record_resources: Any) -> dict[str, list[str]]:
    """Resource ids per key, sorted: what equivalence tests compare (dicts and decoded Structs alike)."""
    return {k: sorted(str(id_of(r)) for r in v) for k, v in record_resources.items()}


def plain(value: Any) -> Any:
    """A resource or member as JSON for comparing: a decoded Struct as its members, tuples as lists, members
    that are null, empty or derived (``~parsed``) left out, so that a Struct compares like the dict it came from."""
    value = as_builtin(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v not in (None, (), []) and not k.endswith("~parsed")}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
