"""Per-resource converters from light FHIR models to :class:`~service.facts.Fact` (CLINICAL_RULES.md §2.1).

The clinical date of each resource type (Readings 7), Condition activity (§2.1.2) and the body-weight units
(UCUM kg, g, [lb_av], [oz_av]; kg, g, lb(s), pound(s) as plain text) are decided here, once.
"""

from __future__ import annotations

from datetime import date, datetime

from service.facts_model import Fact
from service.fhir import decode as d
from service.fhir import models as m
from service.fhir.dates import When, add_years
from service.knowledge.valuesets import Key, normalise_cached

# Each resource reaches the readers as a light pydantic model (the tolerant path) or as a Struct decoded
# in one pass from the request's bytes (service.fhir.decode): the same fields, read alike.
Concept = m.CodeableConcept | d.CodeableConcept
Period = m.Period | d.Period
Quantity = m.Quantity | d.Quantity
Annotation = m.Annotation | d.Annotation
ConditionLike = m.Condition | d.Condition
ObservationLike = m.Observation | d.Observation
ResourceLike = m.Resource | d.Resource
PERIODS = (m.Period, d.Period)

ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})
UCUM = "http://unitsofmeasure.org"
_LB = 0.45359237
_KG_UCUM = {"kg": 1.0, "g": 0.001, "[lb_av]": _LB, "[oz_av]": _LB / 16}
# Units as EHRs write them without UCUM (CLINICAL_RULES.md item 29 d): pounds and grams as free text.
_KG_TEXT = {
    **_KG_UCUM,
    "kilogram": 1.0,
    "kilograms": 1.0,
    "gram": 0.001,
    "grams": 0.001,
    "lb": _LB,
    "lbs": _LB,
    "pound": _LB,
    "pounds": _LB,
}


def codes_of(*concepts: Concept | None) -> tuple[tuple[Key, ...], tuple[str, ...]]:
    keys: list[Key] = []
    displays: list[str] = []
    for concept in concepts:
        for coding in concept.coding if concept else ():
            key = normalise_cached(coding.system, coding.code)
            if key is not None:
                keys.append(key)
                displays.append(coding.display or "")
    return tuple(keys), tuple(displays)


def concept_codes(concept: Concept | None) -> tuple[tuple[Key, ...], tuple[str, ...]]:
    """``codes_of(concept)`` for one concept, without the varargs loop (most readers have one concept)."""
    if concept is None or not concept.coding:
        return (), ()
    keys: list[Key] = []
    displays: list[str] = []
    for coding in concept.coding:
        key = normalise_cached(coding.system, coding.code)
        if key is not None:
            keys.append(key)
            displays.append(coding.display or "")
    return tuple(keys), tuple(displays)


def status_code(concept: Concept | None) -> str | None:
    for coding in concept.coding if concept else ():
        if coding.code:
            return coding.code
    return None


def note_texts(notes: tuple[Annotation, ...]) -> tuple[str, ...]:
    # Most resources have no note: skip building a generator for nothing (a few dozen facts a request).
    return tuple(n.text for n in notes if n.text) if notes else ()


def first_start(*values: When | Period | None) -> When | None:
    for value in values:
        when = value.start if isinstance(value, PERIODS) else value
        if when is not None:
            return when
    return None


def condition_fact(c: ConditionLike, born: date | None, now: datetime) -> Fact:
    codes, displays = concept_codes(c.code)
    onset_age = None
    if c.onsetAge is not None and c.onsetAge.value is not None and born is not None:
        onset_day = add_years(born, c.onsetAge.value)
        if onset_day is not None:
            onset_age = When(datetime.combine(onset_day, datetime.min.time(), now.tzinfo), False)
    clinical, verification = status_code(c.clinicalStatus), status_code(c.verificationStatus)
    abated = first_start(c.abatementDateTime, c.abatementPeriod)
    active = (
        (clinical is None or clinical in ACTIVE_CLINICAL)
        and verification not in NOT_VERIFIED
        and c.abatementString is None
        and (abated is None or abated.at > now)
    )
    onset = first_start(c.onsetDateTime, c.onsetPeriod, onset_age)
    return Fact(
        ref=f"Condition/{c.id}",
        codes=codes,
        displays=displays,
        text=c.code.text if c.code else None,
        date=onset or first_start(c.recordedDate),
        status=clinical,
        active=active,
        verification=verification,
        notes=note_texts(c.note),
        recorded_only=onset is None and c.recordedDate is not None,
    )


def weight_kg(q: Quantity | None) -> float | None:
    if q is None or q.value is None:
        return None
    factor = _KG_UCUM.get(q.code or "") if q.system == UCUM else None
    if factor is None:
        factor = _KG_TEXT.get((q.code or "").strip().lower()) or _KG_TEXT.get((q.unit or "").strip().lower())
    return q.value * factor if factor else None


def observation_fact(o: ObservationLike) -> Fact:
    codes, displays = concept_codes(o.code)
    value_codes = concept_codes(o.valueCodeableConcept)[0] if o.valueCodeableConcept else ()
    return Fact(
        ref=f"Observation/{o.id}",
        codes=codes,
        displays=displays,
        text=o.code.text if o.code else None,
        date=first_start(o.effectiveDateTime, o.effectiveInstant, o.effectivePeriod, o.issued),
        status=o.status,
        notes=note_texts(o.note),
        value_codes=value_codes,
        value_string=o.valueString,
        weight_kg=weight_kg(o.valueQuantity),
        components=tuple((concept_codes(c.code)[0], concept_codes(c.valueCodeableConcept)[0]) for c in o.component)
        if o.component
        else (),
    )


def event_fact(
    kind: str, r: ResourceLike, concepts: tuple[Concept | None, ...], when: When | None
) -> Fact:
    codes, displays = codes_of(*concepts)
    text = next((c.text for c in concepts if c is not None and c.text), None)
    return Fact(
        ref=f"{kind}/{r.id}",
        codes=codes,
        displays=displays,
        text=text,
        date=when,
        status=r.status,
        active=r.status == "active",
    )
