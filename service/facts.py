"""PatientFacts: the typed, normalised facts the rules read, built once per request in one pass.

Conventions of CLINICAL_RULES.md §2.1 applied here, once: statuses (§2.1.4), the clinical date of each
resource (Readings 7), Condition activity (§2.1.2) and (system, code) normalisation (§2.1.5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from service.fact_readers import condition_fact, event_fact, first_start, observation_fact, status_code
from service.facts_model import Fact, PatientFacts, TextFact
from service.fhir import decode as d
from service.fhir import models as m
from service.record import Item, PatientRecord
from service.text.pipeline import ClinicalText
from service.text.sources import condition_texts, document_texts, observation_texts

__all__ = ["Fact", "PatientFacts", "TextFact", "build_facts"]

log = logging.getLogger("service.fhir.models")  # the light models' logger: one line per type, as before
OBSERVATION_OK = frozenset({"final", "amended", "corrected"})
MED_REQUEST_OK = frozenset({"active", "completed", "stopped", "on-hold"})
MED_STATEMENT_OK = frozenset({"active", "completed", "intended", "stopped"})
PROCEDURE_OK = frozenset({"completed", "in-progress"})
R = TypeVar("R", bound=m.Resource)
S = TypeVar("S", bound=d.Resource)
Keep = Callable[[Mapping[str, Any] | Any], bool]
Typed = m.Resource | d.Resource


def read_items(items: Sequence[Item], resource_type: str) -> tuple[list[Typed], int]:
    """The typed resources of ``resource_type`` among ``items``, in order, and how many were unreadable.

    Structs were validated when decoded; dicts (the tolerant path) go through the light models.
    """
    model = m.MODELS[resource_type]
    struct = _STRUCTS.get(resource_type)
    if struct is not None and all(type(item) is struct for item in items):
        return _filled(items, resource_type)  # the usual decoded key: no per-item dispatch
    if not any(isinstance(item, d.FhirStruct) for item in items):
        dicts: list[Typed] = []
        got, skipped = m.read_resources(items, model)  # type: ignore[arg-type]  # no Struct among them
        dicts += got
        return dicts, skipped
    out: list[Typed] = []
    skipped = 0
    for item in items:
        if isinstance(item, d.DocumentReference):  # notes are read by the light model, as before
            if resource_type == "DocumentReference":
                read, bad = m.read_resources((d.as_builtin(item),), model, log_skipped=False)
                out += read
                skipped += bad
        elif isinstance(item, d.FhirStruct):
            if type(item).__name__ == resource_type and isinstance(item, d.Resource):
                try:
                    item.fill_dates()  # where the light model would validate: a bad date makes it unreadable
                except ValueError:
                    skipped += 1
                else:
                    out.append(item)
        else:
            read, bad = m.read_resources((item,), model, log_skipped=False)
            out += read
            skipped += bad
    if skipped:
        log.warning("skipped unreadable FHIR resources", extra={"resource_type": resource_type, "count": skipped})
    return out, skipped


def _struct_classes() -> dict[str, type[d.Resource]]:
    """The decoded Struct class of each resource type the light models read (DocumentReference left out:
    notes always go through the light model)."""
    out: dict[str, type[d.Resource]] = {}
    for name in m.MODELS:
        cls = getattr(d, name, None)
        if isinstance(cls, type) and issubclass(cls, d.Resource) and name != "DocumentReference":
            out[name] = cls
    return out


_STRUCTS = _struct_classes()


def _filled(items: Sequence[Item], resource_type: str) -> tuple[list[Typed], int]:
    """Structs all of ``resource_type``: their dates parsed, those with a malformed date counted unreadable."""
    out: list[Typed] = []
    skipped = 0
    for item in items:
        try:
            item.fill_dates()  # type: ignore[union-attr]  # every item is a Struct of the type (checked)
        except ValueError:
            skipped += 1
        else:
            out.append(item)  # type: ignore[arg-type]
    if skipped:
        log.warning("skipped unreadable FHIR resources", extra={"resource_type": resource_type, "count": skipped})
    return out, skipped


def build_facts(
    record: PatientRecord,
    types: dict[str, str],
    now: datetime,
    keep: Keep | None = None,
    text: ClinicalText | None = None,
) -> PatientFacts:
    """Read every prefetch key once. ``types`` maps prefetch key -> resourceType (from cards/service.json).

    ``keep`` (``Relevance.keep``) drops resources no rule reads before they are validated. ``text`` (the
    clinical text step) reads the free texts into TextFacts; without it no free text is read.
    """
    skipped = 0
    parsed: dict[str, list[Typed]] = {}
    for key, resource_type in types.items():
        raw = record.of(key)
        if not raw:
            continue
        items, bad = read_items(raw if keep is None else [r for r in raw if keep(r)], resource_type)
        if items:
            parsed[resource_type] = parsed[resource_type] + items if resource_type in parsed else items
        skipped += bad
    patients = of(parsed, m.Patient, d.Patient)
    born = patients[0].birthDate.day if patients and patients[0].birthDate else None
    gender = patients[0].gender if patients and isinstance(patients[0].gender, str) else None

    conditions = [
        c for c in of(parsed, m.Condition, d.Condition) if status_code(c.verificationStatus) != "entered-in-error"
    ]
    observations = [o for o in of(parsed, m.Observation, d.Observation) if o.status in OBSERVATION_OK]
    texts: list[TextFact] = []
    unread: list[tuple[str, str]] = []
    if text is not None:
        texts = condition_texts(text, conditions) + observation_texts(text, observations)
        docs = notes_of(parsed)
        if docs:  # no DocumentReference, no note to read
            notes, unread = document_texts(text, docs, now, record.binaries)
            texts += notes
    return PatientFacts(
        patient_ref=f"Patient/{record.patient_id}",
        birth_date=born,
        conditions=tuple(condition_fact(c, born, now) for c in conditions),
        observations=tuple(observation_fact(o) for o in observations),
        medications=tuple(
            [
                event_fact("MedicationRequest", r, (r.medicationCodeableConcept,), r.authoredOn)
                for r in of(parsed, m.MedicationRequest, d.MedicationRequest)
                if r.status in MED_REQUEST_OK
            ]
            + [
                event_fact(
                    "MedicationStatement",
                    s,
                    (s.medicationCodeableConcept,),
                    first_start(s.effectiveDateTime, s.effectivePeriod),
                )
                for s in of(parsed, m.MedicationStatement, d.MedicationStatement)
                if s.status in MED_STATEMENT_OK
            ]
        ),
        procedures=tuple(
            event_fact("Procedure", p, (p.code,), first_start(p.performedDateTime, p.performedPeriod))
            for p in of(parsed, m.Procedure, d.Procedure)
            if p.status in PROCEDURE_OK
        ),
        service_requests=tuple(
            event_fact("ServiceRequest", s, (s.code,), s.authoredOn)
            for s in of(parsed, m.ServiceRequest, d.ServiceRequest)
            if s.status != "entered-in-error"
        ),
        diagnostic_reports=tuple(
            event_fact(
                "DiagnosticReport",
                d,
                (d.code,),
                first_start(d.effectiveDateTime, d.effectivePeriod, d.issued),
            )
            for d in of(parsed, m.DiagnosticReport, d.DiagnosticReport)
            if d.status != "entered-in-error"
        ),
        care_plans=tuple(
            event_fact(
                "CarePlan",
                c,
                (*c.category, *(a.detail.code for a in c.activity if a.detail)),
                first_start(c.period),
            )
            for c in of(parsed, m.CarePlan, d.CarePlan)
            if c.status != "entered-in-error"
        ),
        imaging_studies=tuple(
            event_fact("ImagingStudy", i, i.procedureCode, i.started)
            for i in of(parsed, m.ImagingStudy, d.ImagingStudy)
            if i.status != "entered-in-error"
        ),
        unavailable=record.unavailable,
        skipped=skipped,
        gender=gender,
        texts=tuple(texts),
        unread_notes=tuple(unread),
    )


def of(parsed: dict[str, list[Typed]], kind: type[R], decoded: type[S]) -> list[R | S]:
    """The resources of one type, light models and Structs alike, in the order they came.

    ``read_items`` keeps only resources of the key's type, so they are not filtered again here.
    """
    return parsed.get(kind.__name__, [])  # type: ignore[return-value]  # all of kind or decoded (read_items)


def notes_of(parsed: dict[str, list[Typed]]) -> list[m.DocumentReference]:
    """Clinical notes: always light models (service.fhir.decode leaves them to the tolerant path)."""
    return [r for r in parsed.get("DocumentReference", []) if isinstance(r, m.DocumentReference)]
