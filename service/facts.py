"""PatientFacts: the typed, normalised facts the rules read, built once per request in one pass.

Conventions of CLINICAL_RULES.md §2.1 applied here, once: statuses (§2.1.4), the clinical date of each
resource (Readings 7), Condition activity (§2.1.2) and (system, code) normalisation (§2.1.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from service.fhir import models as m
from service.fhir.dates import When, add_years
from service.knowledge.valuesets import Key, normalise
from service.record import PatientRecord

ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})
OBSERVATION_OK = frozenset({"final", "amended", "corrected"})
MED_REQUEST_OK = frozenset({"active", "completed", "stopped", "on-hold"})
MED_STATEMENT_OK = frozenset({"active", "completed", "intended", "stopped"})
PROCEDURE_OK = frozenset({"completed", "in-progress"})
R = TypeVar("R", bound=m.Resource)
_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237}


@dataclass(frozen=True)
class Fact:
    """One clinical statement: where it comes from, its codes, its clinical date and status."""

    ref: str
    codes: tuple[Key, ...]
    displays: tuple[str, ...]
    text: str | None
    date: When | None
    status: str | None = None
    active: bool = True
    verification: str | None = None
    notes: tuple[str, ...] = ()
    value_codes: tuple[Key, ...] = ()
    value_string: str | None = None
    weight_kg: float | None = None
    components: tuple[tuple[tuple[Key, ...], tuple[Key, ...]], ...] = ()

    def display_of(self, key: Key) -> str | None:
        for code, display in zip(self.codes, self.displays, strict=True):
            if code == key and display:
                return display
        return None


@dataclass(frozen=True)
class PatientFacts:
    patient_ref: str
    birth_date: date | None
    conditions: tuple[Fact, ...]
    observations: tuple[Fact, ...]
    medications: tuple[Fact, ...]
    procedures: tuple[Fact, ...]
    service_requests: tuple[Fact, ...]
    diagnostic_reports: tuple[Fact, ...]
    care_plans: tuple[Fact, ...]
    imaging_studies: tuple[Fact, ...]
    unavailable: frozenset[str]
    skipped: int


def _codes(*concepts: m.CodeableConcept | None) -> tuple[tuple[Key, ...], tuple[str, ...]]:
    keys: list[Key] = []
    displays: list[str] = []
    for concept in concepts:
        for coding in concept.coding if concept else ():
            key = normalise(coding.system, coding.code)
            if key is not None:
                keys.append(key)
                displays.append(coding.display or "")
    return tuple(keys), tuple(displays)


def _status(concept: m.CodeableConcept | None) -> str | None:
    return next((c.code for c in concept.coding if c.code), None) if concept else None


def _start(*values: When | m.Period | None) -> When | None:
    for value in values:
        when = value.start if isinstance(value, m.Period) else value
        if when is not None:
            return when
    return None


def _condition(c: m.Condition, born: date | None, now: datetime) -> Fact:
    codes, displays = _codes(c.code)
    onset_age = None
    if c.onsetAge is not None and c.onsetAge.value is not None and born is not None:
        onset_age = When(datetime.combine(add_years(born, c.onsetAge.value), datetime.min.time(), now.tzinfo), False)
    clinical, verification = _status(c.clinicalStatus), _status(c.verificationStatus)
    abated = _start(c.abatementDateTime, c.abatementPeriod)
    active = (
        (clinical is None or clinical in ACTIVE_CLINICAL)
        and verification not in NOT_VERIFIED
        and c.abatementString is None
        and (abated is None or abated.at > now)
    )
    return Fact(
        ref=f"Condition/{c.id}", codes=codes, displays=displays, text=c.code.text if c.code else None,
        date=_start(c.onsetDateTime, c.onsetPeriod, onset_age, c.recordedDate), status=clinical,
        active=active, verification=verification, notes=tuple(n.text for n in c.note if n.text),
    )


def _weight(q: m.Quantity | None) -> float | None:
    if q is None or q.value is None:
        return None
    factor = _KG.get(q.code or "") or _KG.get(q.unit or "")
    return q.value * factor if factor else None


def _observation(o: m.Observation) -> Fact:
    codes, displays = _codes(o.code)
    value_codes, _ = _codes(o.valueCodeableConcept)
    return Fact(
        ref=f"Observation/{o.id}", codes=codes, displays=displays, text=o.code.text if o.code else None,
        date=_start(o.effectiveDateTime, o.effectiveInstant, o.effectivePeriod, o.issued), status=o.status,
        notes=tuple(n.text for n in o.note if n.text), value_codes=value_codes, value_string=o.valueString,
        weight_kg=_weight(o.valueQuantity),
        components=tuple((_codes(c.code)[0], _codes(c.valueCodeableConcept)[0]) for c in o.component),
    )


def _event(kind: str, r: m.Resource, concepts: tuple[m.CodeableConcept | None, ...], when: When | None) -> Fact:
    codes, displays = _codes(*concepts)
    text = next((c.text for c in concepts if c is not None and c.text), None)
    return Fact(ref=f"{kind}/{r.id}", codes=codes, displays=displays, text=text, date=when, status=r.status,
                active=r.status == "active")


def build_facts(record: PatientRecord, types: dict[str, str], now: datetime) -> PatientFacts:
    """Read every prefetch key once. ``types`` maps prefetch key -> resourceType (from cards/service.json)."""
    skipped = 0
    parsed: dict[str, list[m.Resource]] = {}
    for key, resource_type in types.items():
        items, bad = m.read_resources(record.of(key), m.MODELS[resource_type])
        parsed[resource_type] = parsed.get(resource_type, []) + list(items)
        skipped += bad
    patients = [p for p in parsed.get("Patient", []) if isinstance(p, m.Patient)]
    born = patients[0].birthDate.day if patients and patients[0].birthDate else None

    def of(kind: type[R]) -> list[R]:
        return [r for r in parsed.get(kind.__name__, []) if isinstance(r, kind)]

    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}",
        birth_date=born,
        conditions=tuple(_condition(c, born, now) for c in of(m.Condition)
                         if _status(c.verificationStatus) != "entered-in-error"),
        observations=tuple(_observation(o) for o in of(m.Observation) if o.status in OBSERVATION_OK),
        medications=tuple(
            [_event("MedicationRequest", r, (r.medicationCodeableConcept,), r.authoredOn)
             for r in of(m.MedicationRequest) if r.status in MED_REQUEST_OK]
            + [_event("MedicationStatement", s, (s.medicationCodeableConcept,), _start(s.effectiveDateTime, s.effectivePeriod))
               for s in of(m.MedicationStatement) if s.status in MED_STATEMENT_OK]),
        procedures=tuple(_event("Procedure", p, (p.code,), _start(p.performedDateTime, p.performedPeriod))
                         for p in of(m.Procedure) if p.status in PROCEDURE_OK),
        service_requests=tuple(_event("ServiceRequest", s, (s.code,), s.authoredOn) for s in of(m.ServiceRequest)
                               if s.status != "entered-in-error"),
        diagnostic_reports=tuple(_event("DiagnosticReport", d, (d.code,), _start(d.effectiveDateTime, d.effectivePeriod, d.issued))
                                 for d in of(m.DiagnosticReport) if d.status != "entered-in-error"),
        care_plans=tuple(_event("CarePlan", c, (*c.category, *(a.detail.code for a in c.activity if a.detail)),
                                _start(c.period)) for c in of(m.CarePlan) if c.status != "entered-in-error"),
        imaging_studies=tuple(_event("ImagingStudy", i, i.procedureCode, i.started) for i in of(m.ImagingStudy)
                              if i.status != "entered-in-error"),
        unavailable=record.unavailable,
        skipped=skipped,
    )
