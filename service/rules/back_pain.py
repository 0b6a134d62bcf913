"""F1 Back pain present (CLINICAL_RULES.md F1, Readings 8, 9, 18).

When: a Condition with a back-pain code is active (clinicalStatus active/recurrence/relapse or absent, not
refuted or entered-in-error, not abated by T). Radiculopathy and sciatica alone, cervicalgia and cancer
pain are not back pain.
Then: back pain is present; the episode starts at the earliest active onset (persistence, night pain, MRI,
low-specificity neuro codes); the most recent onset drives treatment failure and medication resistance; the
MRI region comes from the conditions of the last year (all if none); a pregnancy code is noted.
Revision 2: neck pain (M54.2) is spinal pain only with a cancer history (item 24), and thoracic or neck pain is
kept as ``thoracic_or_neck`` (C2 rather than C4); a pregnancy code counts only when its onset is at most 10
months before T (item 34).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from service.facts import Fact, PatientFacts
from service.fhir.dates import When, add_months, days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.base import Evidence, Finding, coded


class BackPain(NamedTuple):
    finding: Finding
    conditions: tuple[Fact, ...]
    episode_start: When | None
    latest_onset: When | None
    region: str
    pregnancy: Evidence | None
    thoracic_or_neck: Evidence | None = None
    # Resources whose free text is about the back pain (item 30), found once for the five rules that read text.
    text_refs: frozenset[str] = frozenset()


def _region(conditions: list[Fact], k: Knowledge, now: datetime, cap: int) -> str:
    recent = [c for c in conditions if c.date is not None and days_between(c.date, now) <= cap]
    regions = set()
    for c in recent or conditions:
        if k.vs(Role.REGION_LUMBAR).first_match(c.codes):
            regions.add("lumbar")
        elif k.vs(Role.REGION_THORACIC).first_match(c.codes):
            regions.add("thoracic")
        else:
            regions.add("whole")
    return regions.pop() if len(regions) == 1 else "whole"


def pregnancy(facts: PatientFacts, k: Knowledge, now: datetime) -> Evidence | None:
    """Item 34: an active pregnancy Condition whose onset is at most ``pregnancyRecencyMonths`` before T."""
    vs, months = k.vs(Role.BACK_PAIN_PREGNANCY), k.config.pregnancy_recency_months
    for fact in facts.conditions:
        ev = coded(fact, vs) if fact.active else None
        if ev is not None and fact.date is not None and add_months(fact.date.day, months) >= now.date():
            return ev
    return None


def text_refs(facts: PatientFacts, k: Knowledge, conditions: Iterable[Fact]) -> frozenset[str]:
    """Resources whose free text is about the back pain: active back-pain Conditions, back-pain symptoms."""
    symptom, back = k.vs(Role.SYMPTOM_OBSERVATION), k.vs(Role.BACK_PAIN)
    refs = {c.ref for c in conditions}
    refs.update(
        o.ref for o in facts.observations if symptom.first_match(o.codes) and back.first_match(o.value_codes)
    )
    return frozenset(refs)


def back_pain(facts: PatientFacts, k: Knowledge, now: datetime, with_neck: bool = False) -> BackPain:
    sets = [k.vs(Role.BACK_PAIN)] + ([k.vs(Role.NECK_PAIN)] if with_neck else [])
    found: list[tuple[Fact, Evidence]] = []
    for fact in facts.conditions:
        ev = next((e for vs in sets if fact.active and (e := coded(fact, vs))), None)
        if ev is not None:
            found.append((fact, ev))
    found.sort(key=lambda pair: (pair[0].date is None, pair[0].date or When(now), pair[0].ref))
    conditions = [fact for fact, _ in found]
    dated = [c.date for c in conditions if c.date is not None]
    upper = [k.vs(Role.REGION_THORACIC), k.vs(Role.NECK_PAIN)]
    thoracic_or_neck = next((ev for _, ev in found if any(vs.contains(ev.code) for vs in upper if ev.code)), None)
    return BackPain(
        finding=Finding("F1", bool(found), tuple(ev for _, ev in found)),
        conditions=tuple(conditions),
        episode_start=min(dated) if dated else None,
        latest_onset=max(dated) if dated else None,
        region=_region(conditions, k, now, k.config.episode_cap_days) if conditions else "whole",
        pregnancy=pregnancy(facts, k, now),
        thoracic_or_neck=thoracic_or_neck,
        text_refs=text_refs(facts, k, conditions) if facts.texts else frozenset(),
    )
