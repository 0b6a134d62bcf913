"""F7 Failure of conservative treatment (CLINICAL_RULES.md F7, Readings 9, 14; ACP/Deyo "1-month trial").

When: the most recent active back-pain onset is within 365 days of T, and a conservative treatment (an
analgesic order or statement, a physical-therapy procedure or referral, a CarePlan physical-therapy
activity) started between T-180 and T-28 days and on or after that onset minus 7 days, while the back
pain is still active at T. The pain-score corroboration is off by default (not implemented).
Text (item 30): pain despite treatment ("no better despite physiotherapy") found by the clinical text step in
back-pain text or a clinical note dated on or after that onset also counts.
Then: failure of conservative treatment is a red flag. Years-old episodes are not assessed (Synthea).
"""

from __future__ import annotations

from datetime import datetime

from service.facts import PatientFacts
from service.fhir.dates import When, days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.analgesics import Classes, classify_all
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, Missing, coded, days_text, unavailable
from service.rules.text_signs import back_pain_text_refs, in_episode, text_evidence

KEYS = ["medicationRequests", "medicationStatements", "procedures", "serviceRequests", "carePlans"]


def episode_onset(feature: str, bp: BackPain, k: Knowledge, now: datetime) -> Finding | When:
    """The onset F7/F8 are assessed from, or the Finding saying why they cannot be.

    Not assessed: no active back pain, no dated onset, or a latest onset older than the episode cap.
    """
    if not bp.conditions:
        return Finding(feature, False)
    if bp.latest_onset is None:
        return Finding(feature, False, missing=(Missing("no-onset"),))
    if days_between(bp.latest_onset, now) > k.config.episode_cap_days:
        return Finding(feature, False, missing=(Missing("episode-too-old", days=k.config.episode_cap_days),))
    return bp.latest_onset


def treatment_failure(
    facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain, classes: Classes | None = None
) -> Finding:
    """F7; ``classes`` is :func:`classify_all` of the medications when the caller already has it."""
    onset = episode_onset("F7", bp, k, now)
    if isinstance(onset, Finding):
        return onset
    cfg = k.config.treatment_failure
    pt = k.vs(Role.PHYSICAL_THERAPY)
    candidates: list[Evidence] = [
        hit[1] for hit in (classify_all(facts.medications, k) if classes is None else classes) if hit
    ]
    for fact in (*facts.procedures, *facts.care_plans, *facts.service_requests):
        if fact.ref.startswith("ServiceRequest/") and fact.status not in ("active", "completed"):
            continue
        ev = coded(fact, pt)
        candidates.extend([ev] if ev else [])
    evidence = []
    for ev in candidates:
        if ev.date is None or days_between(onset, ev.date.at) < -cfg.onset_allowance_days:
            continue
        days = days_between(ev.date, now)
        if cfg.min_days <= days <= cfg.max_days:
            observed = f"started {days_text(days)} ago, back pain still active"
            evidence.append(ev._replace(observed=observed, threshold=f"{cfg.min_days}-{cfg.max_days} days"))
    if not evidence:  # text (item 30): "no better despite physio" in back-pain text or a note of the episode
        refs = back_pain_text_refs(facts, k, bp)
        evidence = text_evidence(facts, k, "treatment-failure", refs, in_episode(onset, now))
    evidence.sort(key=lambda e: (e.date is not None, e.date, e.ref))
    return Finding("F7", bool(evidence), tuple(evidence[:1]), unavailable(KEYS, facts.unavailable))
