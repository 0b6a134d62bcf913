"""PatientFacts: the typed, normalised facts the rules read, built once per request in one pass.

Conventions of CLINICAL_RULES.md §2.1 applied here, once: statuses (§2.1.4), the clinical date of each
resource (Readings 7), Condition activity (§2.1.2) and (system, code) normalisation (§2.1.5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from service.fact_readers import condition_fact, event_fact, first_start, observation_fact, status_code
from service.facts_model import Fact, PatientFacts
from service.fhir import models as m
from service.record import PatientRecord

__all__ = ["Fact", "PatientFacts", "build_facts"]

OBSERVATION_OK = frozenset({"final", "amended", "corrected"})
MED_REQUEST_OK = frozenset({"active", "completed", "stopped", "on-hold"})
MED_STATEMENT_OK = frozenset({"active", "completed", "intended", "stopped"})
PROCEDURE_OK = frozenset({"completed", "in-progress"})
R = TypeVar("R", bound=m.Resource)
Keep = Callable[[Mapping[str, Any]], bool]


def build_facts(
    record: PatientRecord, types: dict[str, str], now: datetime, keep: Keep | None = None
) -> PatientFacts:
    """Read every prefetch key once. ``types`` maps prefetch key -> resourceType (from cards/service.json).

    ``keep`` (``Relevance.keep``) drops resources no rule reads before they are validated.
    """
    skipped = 0
    parsed: dict[str, list[m.Resource]] = {}
    for key, resource_type in types.items():
        raw = record.of(key)
        items, bad = m.read_resources(raw if keep is None else [r for r in raw if keep(r)], m.MODELS[resource_type])
        parsed[resource_type] = parsed.get(resource_type, []) + list(items)
        skipped += bad
    patients = [p for p in parsed.get("Patient", []) if isinstance(p, m.Patient)]
    born = patients[0].birthDate.day if patients and patients[0].birthDate else None
    gender = patients[0].gender if patients and isinstance(patients[0].gender, str) else None

    def of(kind: type[R]) -> list[R]:
        return [r for r in parsed.get(kind.__name__, []) if isinstance(r, kind)]

    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}",
        birth_date=born,
        conditions=tuple(
            condition_fact(c, born, now)
            for c in of(m.Condition)
            if status_code(c.verificationStatus) != "entered-in-error"
        ),
        observations=tuple(observation_fact(o) for o in of(m.Observation) if o.status in OBSERVATION_OK),
        medications=tuple(
            [
                event_fact("MedicationRequest", r, (r.medicationCodeableConcept,), r.authoredOn)
                for r in of(m.MedicationRequest)
                if r.status in MED_REQUEST_OK
            ]
            + [
                event_fact(
                    "MedicationStatement",
                    s,
                    (s.medicationCodeableConcept,),
                    first_start(s.effectiveDateTime, s.effectivePeriod),
                )
                for s in of(m.MedicationStatement)
                if s.status in MED_STATEMENT_OK
            ]
        ),
        procedures=tuple(
            event_fact("Procedure", p, (p.code,), first_start(p.performedDateTime, p.performedPeriod))
            for p in of(m.Procedure)
            if p.status in PROCEDURE_OK
        ),
        service_requests=tuple(
            event_fact("ServiceRequest", s, (s.code,), s.authoredOn)
            for s in of(m.ServiceRequest)
            if s.status != "entered-in-error"
        ),
        diagnostic_reports=tuple(
            event_fact(
                "DiagnosticReport",
                d,
                (d.code,),
                first_start(d.effectiveDateTime, d.effectivePeriod, d.issued),
            )
            for d in of(m.DiagnosticReport)
            if d.status != "entered-in-error"
        ),
        care_plans=tuple(
            event_fact(
                "CarePlan",
                c,
                (*c.category, *(a.detail.code for a in c.activity if a.detail)),
                first_start(c.period),
            )
            for c in of(m.CarePlan)
            if c.status != "entered-in-error"
        ),
        imaging_studies=tuple(
            event_fact("ImagingStudy", i, i.procedureCode, i.started)
            for i in of(m.ImagingStudy)
            if i.status != "entered-in-error"
        ),
        unavailable=record.unavailable,
        skipped=skipped,
        gender=gender,
    )
