"""F4 / F11 / F12 Neurological findings (CLINICAL_RULES.md Revision 2 items 22-23; F4, §4.4, Readings 10, 18).

When: an active Condition (clinicalStatus active/recurrence/relapse or absent, not refuted/entered-in-error)
or a final/amended/corrected symptom Observation (LOINC 75325-1, finding in the value) carries a code of
``neuro-emergency`` (cauda equina syndrome, cord compression, saddle numbness, new urinary retention, faecal
incontinence, paraplegia/paraparesis, bilateral weakness) or ``neuro-symptom`` (sensory loss, paraesthesia,
gait, reflexes, unilateral weakness). Low-specificity codes (weakness, R32, faecal incontinence 72042002) must
be dated on or after the back-pain episode start; radicular codes (M54.1x, M54.3x, 23056005) count as a
neurological symptom only with a cancer history and never as a persisting deficit.
Then:
* F4 emergency sign dated within the last 30 days: the emergency card (C1), at any age, with or without cancer;
* F11 neurological symptom dated within the last 30 days: MSCC (C1M) with a cancer history, else a strong C3 sign;
* F12 a deficit of either class first dated 31-365 days before T: a strong C3 sign ("persisting"), never C1.
``cord`` says whether a recent emergency sign is of the cord class (the emergency MRI covers the whole spine).
Text (item 30): an emergency sign or a neurological symptom found by the clinical text step in back-pain text
or a clinical note dated within the last 30 days counts as F4 / F11 like a code (cord class when the phrase is
one of the sign's ``cordPhrases`` in cards/text/targets.json); text never makes a persisting deficit.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from service.facts import PatientFacts
from service.fhir.dates import days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, coded, days_text, unavailable, value_coded
from service.rules.text_signs import back_pain_text_refs, text_evidence, within_days


class Neurology(NamedTuple):
    emergency: Finding
    symptom: Finding
    persisting: Finding
    cord: bool


def _candidates(facts: PatientFacts, k: Knowledge, roles: list[Role]) -> list[tuple[Role, Evidence]]:
    """Coded evidence per role; the active Conditions and symptom Observations are found once, not per role."""
    symptom = k.vs(Role.SYMPTOM_OBSERVATION)
    active = [fact for fact in facts.conditions if fact.active]
    symptoms = [fact for fact in facts.observations if symptom.first_match(fact.codes)]
    out: list[tuple[Role, Evidence]] = []
    if not active and not symptoms:
        return out
    for role in roles:
        vs = k.vs(role)
        for fact in active:
            ev = coded(fact, vs)
            if ev is not None:
                out.append((role, ev))
        for fact in symptoms:
            ev = value_coded(fact, vs)
            if ev is not None:
                out.append((role, ev))
    return out


def neurology(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain, has_cancer: bool) -> Neurology:
    recent, longest = k.config.neurological_recency_days, k.config.persisting_deficit_max_days
    roles = [Role.NEURO_EMERGENCY, Role.NEURO_SYMPTOM] + ([Role.RADICULAR_PAIN] if has_cancer else [])
    low, cord_set = k.vs(Role.NEURO_LOW_SPECIFICITY), k.vs(Role.NEURO_CORD)
    emergency: list[Evidence] = []
    symptom: list[Evidence] = []
    persisting: list[Evidence] = []
    cord = False
    for role, ev in _candidates(facts, k, roles):
        if ev.date is None or ev.code is None:
            continue
        days = days_between(ev.date, now)
        if days < 0 or days > longest:
            continue
        if low.contains(ev.code) and (bp.episode_start is None or ev.date.day < bp.episode_start.day):
            continue
        if days <= recent:
            shown = ev._replace(observed=f"{days_text(days)} ago", threshold=f"<= {recent} days")
            if role == Role.NEURO_EMERGENCY:
                emergency.append(shown)
                cord = cord or cord_set.contains(ev.code)
            else:
                symptom.append(shown)
        elif role != Role.RADICULAR_PAIN:
            persisting.append(
                ev._replace(observed=f"first recorded {days_text(days)} ago", threshold=f"{recent + 1}-{longest} days")
            )
    refs, window = back_pain_text_refs(facts, k, bp), within_days(recent, now)
    for sign, found in (("neuro-emergency", emergency), ("neuro-symptom", symptom)):
        for ev in text_evidence(facts, k, sign, refs, window):
            days = days_between(ev.date, now) if ev.date else 0
            found.append(ev._replace(observed=f"{days_text(days)} ago", threshold=f"<= {recent} days"))
    cord = cord or any(
        tf.sign == "neuro-emergency" and tf.phrase.lower() in k.text.cord_phrases
        for tf in facts.texts
        if any(ev.ref == tf.ref and ev.text_match == tf.sentence for ev in emergency)
    )
    missing = unavailable(["observations"], facts.unavailable)

    def finding(feature: str, evidence: list[Evidence]) -> Finding:
        return Finding(feature, bool(evidence), tuple(sorted(evidence, key=lambda e: e.ref)), missing)

    return Neurology(finding("F4", emergency), finding("F11", symptom), finding("F12", persisting), cord)
