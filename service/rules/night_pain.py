"""F6 Night or rest pain (CLINICAL_RULES.md F6, Decision 3, Readings 13, Revision 2 item 30; NICE CG75).

When: within the back-pain episode (on or after its start, not after T), a final symptom Observation (LOINC
75325-1) whose value is back pain or Pain (22253000) has an "Exacerbating factors" component (100752-5) valued
Resting state (128975004); or, with free-text reading on (default), the clinical text step found night or rest
pain, not negated, hypothetical, historical, uncertain or about someone else, in the text of an active
back-pain Condition (code.text, note), of a symptom Observation about back pain (note, valueString) or in a
clinical note, dated within the episode. Text of an active back-pain Condition without any date counts.
Then: night or rest pain is a red flag; text findings are labelled "from the note of <date>" with the sentence.
"""

from __future__ import annotations

from datetime import datetime

from service.facts import Fact, PatientFacts
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, unavailable
from service.rules.text_signs import back_pain_text_refs, in_episode, text_evidence


def _in_episode(fact: Fact, bp: BackPain, now: datetime) -> bool:
    return (
        fact.date is not None
        and bp.episode_start is not None
        and bp.episode_start.day <= fact.date.day
        and fact.date.at <= now
    )


def night_pain(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> Finding:
    if not bp.conditions:
        return Finding("F6", False)
    pain, back = k.vs(Role.PAIN_FINDING), k.vs(Role.BACK_PAIN)
    factor, rest = k.vs(Role.EXACERBATING_FACTOR), k.vs(Role.RESTING_STATE)
    symptom = k.vs(Role.SYMPTOM_OBSERVATION)
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
    if k.config.night_pain.free_text:
        refs = back_pain_text_refs(facts, k, bp)
        evidence += text_evidence(facts, k, "night-pain", refs, in_episode(bp.episode_start, now))
    return Finding("F6", bool(evidence), tuple(evidence), unavailable(["observations"], facts.unavailable))

