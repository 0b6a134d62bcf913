"""F4 Recent neurological deficit (CLINICAL_RULES.md F4, §4.4, Readings 10, 18; NICE CG75/NG234).

When: an active Condition (clinicalStatus active/recurrence/relapse or absent, not refuted/entered-in-error)
or a final/amended/corrected symptom Observation (LOINC 75325-1, finding in the value) carries a
neurological-deficit code dated within the last 30 days of T. Low-specificity codes (weakness, R32) must
also be dated on or after the back-pain episode start; radicular codes (M54.1x, M54.3x, 23056005) count
only with a cancer history. A deficit known for more than 30 days does not count. Text (item 30): an
emergency sign (cauda equina, saddle anaesthesia, retention, faecal incontinence, bilateral weakness, cord
compression) found by the clinical text step in back-pain text or a clinical note dated within 30 days counts;
a neurological symptom in text (numbness, tingling, weakness) counts only with a cancer history (item 23).
Then: a recent neurological deficit is present (C1 with back pain).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from service.facts import PatientFacts
from service.fhir.dates import days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, coded, days_text, unavailable, value_coded
from service.rules.text_signs import back_pain_text_refs, text_evidence, within_days


def _roles(bp: BackPain, has_cancer: bool) -> list[Role]:
    roles = [Role.NEURO_DEFICIT, Role.NEURO_LOW_SPECIFICITY]
    return [*roles, Role.RADICULAR_PAIN] if has_cancer else roles


def neuro_deficit(
    facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain, has_cancer: bool
) -> Finding:
    window = k.config.neurological_recency_days
    symptom = k.vs(Role.SYMPTOM_OBSERVATION)
    candidates: list[Evidence] = []
    for role in _roles(bp, has_cancer):
        vs = k.vs(role)
        for fact in facts.conditions:
            ev = coded(fact, vs) if fact.active else None
            if ev is not None:
                candidates.append(ev)
        for fact in facts.observations:
            ev = value_coded(fact, vs) if symptom.first_match(fact.codes) else None
            if ev is not None:
                candidates.append(ev)
    refs = back_pain_text_refs(facts, k, bp)
    for sign in ("neuro-emergency", "neuro-symptom") if has_cancer else ("neuro-emergency",):
        candidates += text_evidence(facts, k, sign, refs, within_days(window, now))
    low = k.vs(Role.NEURO_LOW_SPECIFICITY).id
    evidence = []
    for ev in candidates:
        if ev.date is None or not 0 <= days_between(ev.date, now) <= window:
            continue
        if ev.value_set == low and (bp.episode_start is None or ev.date.day < bp.episode_start.day):
            continue
        days = days_between(ev.date, now)
        evidence.append(replace(ev, observed=f"{days_text(days)} ago", threshold=f"<= {window} days"))
    missing = unavailable(["observations"], facts.unavailable)
    return Finding("F4", bool(evidence), tuple(sorted(evidence, key=lambda e: e.ref)), missing)
