"""Small builders of FHIR R4 resources for the hand-written fixture cases (used by build_fixtures.py)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

AS_OF = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
ICD_WHO = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
Res = dict[str, Any]


def day(days_ago: int) -> str:
    """A FHIR date ``days_ago`` UTC calendar days before AS_OF."""
    return (AS_OF - timedelta(days=days_ago)).date().isoformat()


def instant(days_ago: float) -> str:
    return (AS_OF - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cc(system: str, code: str, display: str, text: str | None = None) -> Res:
    out: Res = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        out["text"] = text
    return out


# Invented names, so that an EHR or the CDS Hooks sandbox shows a person rather than "Unknown".
_GIVEN = {
    "female": ("Ada", "Beatrice", "Clara", "Dorothy", "Edith", "Frances", "Grace", "Hilda", "Irene", "June"),
    "male": ("Albert", "Bernard", "Cyril", "Dennis", "Ernest", "Frank", "George", "Harold", "Ivor", "Leonard"),
}
_FAMILY = ("Ashdown", "Brierley", "Caldwell", "Denholm", "Ellery", "Fenwick", "Garland", "Hollis", "Ingram",
           "Kendrick", "Lomax", "Marlow", "Northcott", "Oakley", "Pemberton", "Quarrie", "Radley", "Selwyn")


def patient_name(slug: str, gender: str) -> Res:
    """A fictional HumanName fixed by the case slug (the slug stays visible: "Ada Fenwick (c1a)")."""
    digest = zlib.crc32(slug.encode())
    given = _GIVEN.get(gender, _GIVEN["female"])[digest % 10]
    family = _FAMILY[(digest // 10) % len(_FAMILY)]
    return {"use": "official", "text": f"{given} {family} ({slug})", "family": family, "given": [given]}


def patient(slug: str, birth: str, gender: str = "female") -> Res:
    return {
        "resourceType": "Patient",
        "id": f"{slug}-pat",
        "name": [patient_name(slug, gender)],
        "gender": gender,
        "birthDate": birth,
    }


def born_years_ago(years: int, extra_days: int = 0) -> str:
    d = AS_OF.date()
    return (d.replace(year=d.year - years) - timedelta(days=extra_days)).isoformat()


def condition(
    slug: str,
    n: str,
    code: Res,
    onset: str | None = None,
    *,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    recorded: str | None = None,
    note: str | None = None,
    abatement: str | None = None,
) -> Res:
    r: Res = {"resourceType": "Condition", "id": f"{slug}-{n}"}
    if clinical:
        r["clinicalStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical, clinical
        )
    if verification:
        r["verificationStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification, verification
        )
    r["category"] = [
        cc(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            "problem-list-item",
            "Problem List Item",
        )
    ]
    r["code"] = code
    r["subject"] = {"reference": f"Patient/{slug}-pat"}
    if onset:
        r["onsetDateTime"] = onset
    if abatement:
        r["abatementDateTime"] = abatement
    r["recordedDate"] = recorded or onset or day(0)
    if note:
        r["note"] = [{"text": note}]
    return r


def weight(slug: str, n: str, when: str, kg: float, code: str = "29463-7") -> Res:
    return {
        "resourceType": "Observation",
        "id": f"{slug}-{n}",
        "status": "final",
        "category": [
            cc("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")
        ],
        "code": cc(LOINC, code, "Body weight"),
        "subject": {"reference": f"Patient/{slug}-pat"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def symptom(
    slug: str, n: str, when: str, value: Res, *, at_rest: bool = False, text: str | None = None
) -> Res:
    r: Res = {
        "resourceType": "Observation",
        "id": f"{slug}-{n}",
        "status": "final",
        "code": cc(LOINC, "75325-1", "Symptom"),
        "subject": {"reference": f"Patient/{slug}-pat"},
        "effectiveDateTime": when,
        "valueCodeableConcept": value,
    }
    if at_rest:
        r["component"] = [
            {
                "code": cc(LOINC, "100752-5", "Exacerbating factors - Reported"),
                "valueCodeableConcept": cc(SCT, "128975004", "Resting state (finding)"),
            }
        ]
    if text:
        r["note"] = [{"text": text}]
    return r


def med(slug: str, n: str, when: str, rxcui: str, display: str, status: str = "active") -> Res:
    return {
        "resourceType": "MedicationRequest",
        "id": f"{slug}-{n}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": cc(RX, rxcui, display),
        "subject": {"reference": f"Patient/{slug}-pat"},
        "authoredOn": when,
    }


def procedure(slug: str, n: str, when: str, code: Res, status: str = "completed") -> Res:
    return {
        "resourceType": "Procedure",
        "id": f"{slug}-{n}",
        "status": status,
        "code": code,
        "subject": {"reference": f"Patient/{slug}-pat"},
        "performedDateTime": when,
    }


def service_request(slug: str, n: str, when: str, code: Res, status: str = "active") -> Res:
    return {
        "resourceType": "ServiceRequest",
        "id": f"{slug}-{n}",
        "status": status,
        "intent": "order",
        "code": code,
        "subject": {"reference": f"Patient/{slug}-pat"},
        "authoredOn": when,
    }


def report(slug: str, n: str, when: str, code: Res, status: str = "final") -> Res:
    return {
        "resourceType": "DiagnosticReport",
        "id": f"{slug}-{n}",
        "status": status,
        "code": code,
        "subject": {"reference": f"Patient/{slug}-pat"},
        "effectiveDateTime": when,
        "issued": when,
    }


def imaging(slug: str, n: str, when: str, code: Res, status: str = "available") -> Res:
    return {
        "resourceType": "ImagingStudy",
        "id": f"{slug}-{n}",
        "status": status,
        "subject": {"reference": f"Patient/{slug}-pat"},
        "started": when,
        "procedureCode": [code],
    }


def care_plan(
    slug: str, n: str, start: str, category: Res, activities: list[Res], status: str = "active"
) -> Res:
    return {
        "resourceType": "CarePlan",
        "id": f"{slug}-{n}",
        "status": status,
        "intent": "plan",
        "category": [category],
        "subject": {"reference": f"Patient/{slug}-pat"},
        "period": {"start": start},
        "activity": [{"detail": {"code": a, "status": "in-progress"}} for a in activities],
    }


def bundle(resources: list[Res]) -> Res:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
