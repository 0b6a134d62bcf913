"""F2 Persistent back pain (CLINICAL_RULES.md F2; NICE NG59 persistent LBP, ACR variant 3).

When: the back-pain episode (earliest active onset) has lasted at least ``persistenceDays`` (42) whole days
at T, or an active back-pain code is chronic by definition (278860009, 134407002).
Then: persistence is present; it feeds C5 and is shown in every card's flags.
"""

from __future__ import annotations

from datetime import datetime

from service.fhir.dates import days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, Missing, coded, days_text


def persistence(bp: BackPain, k: Knowledge, now: datetime) -> Finding:
    if not bp.conditions:
        return Finding("F2", False)
    threshold = k.config.persistence_days
    evidence: list[Evidence] = []
    first = bp.conditions[0]
    if bp.episode_start is not None:
        days = days_between(bp.episode_start, now)
        if days >= threshold:
            evidence.append(
                Evidence(
                    ref=first.ref,
                    date=first.date,
                    what="back pain since onset",
                    observed=days_text(days),
                    threshold=f">= {threshold} days",
                )
            )
    if not evidence:  # undated or recent onset: a chronic code still proves persistence
        chronic = [ev for fact in bp.conditions if (ev := coded(fact, k.vs(Role.BACK_PAIN_CHRONIC)))]
        evidence.extend(chronic[:1])
    missing = (Missing("no-onset"),) if bp.episode_start is None and not evidence else ()
    return Finding("F2", bool(evidence), tuple(evidence), missing)
