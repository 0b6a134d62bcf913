"""F1 Back pain present (CLINICAL_RULES.md F1, Readings 8, 9, 18).

When: a Condition with a back-pain code is active (clinicalStatus active/recurrence/relapse or absent, not
refuted or entered-in-error, not abated by T). Radiculopathy and sciatica alone, cervicalgia and cancer
pain are not back pain.
Then: back pain is present; the episode starts at the earliest active onset (persistence, night pain, MRI,
low-specificity neuro codes); the most recent onset drives treatment failure and medication resistance; the
MRI region comes from the conditions of the last year (all if none); a pregnancy code is noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.facts import Fact, PatientFacts
from service.fhir.dates import When, days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.base import Evidence, Finding, coded


@dataclass(frozen=True)
class BackPain:
    finding: Finding
    conditions: tuple[Fact, ...]
    episode_start: When | None
    latest_onset: When | None
    region: str
    pregnancy: Evidence | None


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


def back_pain(facts: PatientFacts, k: Knowledge, now: datetime) -> BackPain:
    vs = k.vs(Role.BACK_PAIN)
    found: list[tuple[Fact, Evidence]] = []
    for fact in facts.conditions:
        ev = coded(fact, vs) if fact.active else None
        if ev is not None:
            found.append((fact, ev))
    found.sort(key=lambda pair: (pair[0].date is None, pair[0].date or When(now), pair[0].ref))
    conditions = [fact for fact, _ in found]
    dated = [c.date for c in conditions if c.date is not None]
    pregnancy = next((e for c in conditions if (e := coded(c, k.vs(Role.BACK_PAIN_PREGNANCY)))), None)
    return BackPain(
        finding=Finding("F1", bool(found), tuple(ev for _, ev in found)),
        conditions=tuple(conditions),
        episode_start=min(dated) if dated else None,
        latest_onset=max(dated) if dated else None,
        region=_region(conditions, k, now, k.config.episode_cap_days) if conditions else "whole",
        pregnancy=pregnancy,
    )
