"""F6 Night or rest pain (CLINICAL_RULES.md F6, Decision 3, Readings 13; NICE CG75 "nocturnal spinal pain").

When: within the back-pain episode (on or after its start, not after T), a final symptom Observation (LOINC
75325-1) whose value is back pain or Pain (22253000) has an "Exacerbating factors" component (100752-5) valued
Resting state (128975004); or, with free-text matching on (default), the text of an active back-pain
Condition (code.text, note) or of a symptom Observation about back pain (note, valueString) matches the
configured night/rest pattern.
Then: night or rest pain is a red flag; text matches are labelled as coming from free text.
"""

from __future__ import annotations

from datetime import datetime

from service.facts import Fact, PatientFacts
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, unavailable


def _in_episode(fact: Fact, bp: BackPain, now: datetime) -> bool:
    return (
        fact.date is not None
        and bp.episode_start is not None
        and bp.episode_start.day <= fact.date.day
        and fact.date.at <= now
    )


def _text_hit(fact: Fact, texts: list[str | None], k: Knowledge) -> Evidence | None:
    for text in texts:
        hit = k.config.night_regex.search(text) if text else None
        if hit is not None:
            return Evidence(ref=fact.ref, date=fact.date, what="back pain record", text_match=hit.group(0))
    return None


def night_pain(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> Finding:
    if not bp.conditions:
        return Finding("F6", False)
    pain, back = k.vs(Role.PAIN_FINDING), k.vs(Role.BACK_PAIN)
    factor, rest = k.vs(Role.EXACERBATING_FACTOR), k.vs(Role.RESTING_STATE)
    symptom = k.vs(Role.SYMPTOM_OBSERVATION)
    free_text = k.config.night_pain.free_text
    evidence: list[Evidence] = []
    for obs in facts.observations:
        if not symptom.first_match(obs.codes) or not _in_episode(obs, bp, now):
            continue
        about_pain = back.first_match(obs.value_codes) or pain.first_match(obs.value_codes)
        at_rest = any(factor.first_match(c) and rest.first_match(v) for c, v in obs.components)
        if about_pain and at_rest:
            evidence.append(
                Evidence(
                    ref=obs.ref, date=obs.date, what="pain worse at rest (Resting state)", value_set=rest.id
                )
            )
        elif free_text and back.first_match(obs.value_codes):
            hit = _text_hit(obs, [obs.value_string, *obs.notes], k)
            evidence.extend([hit] if hit else [])
    if free_text:
        for cond in bp.conditions:
            hit = _text_hit(cond, [cond.text, *cond.notes], k) if _in_episode(cond, bp, now) else None
            evidence.extend([hit] if hit else [])
    return Finding("F6", bool(evidence), tuple(evidence), unavailable(["observations"], facts.unavailable))
