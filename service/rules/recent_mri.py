"""F10 Recent spine MRI, for suppression (CLINICAL_RULES.md F10, Readings 15, 19).

When: a spine MRI of any region and contrast is recorded on or after the back-pain episode start and within
30 days of T: a ServiceRequest active or completed, an ImagingStudy available or registered, a
DiagnosticReport preliminary/final/amended/corrected, or a Procedure in progress or completed. For C1 it
must be within the last 24 hours (instants compared exactly; a date-only value means today or yesterday).
Then: no MRI or CT is proposed for C2/C3 (for C1 only with the 24-hour MRI); the card says when it was done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.facts import PatientFacts
from service.fhir.dates import days_between, within_hours
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, coded, unavailable

STATUSES = {
    "ServiceRequest": frozenset({"active", "completed"}),
    "ImagingStudy": frozenset({"available", "registered"}),
    "DiagnosticReport": frozenset({"preliminary", "final", "amended", "corrected"}),
    "Procedure": frozenset({"in-progress", "completed"}),
}
KEYS = ["serviceRequests", "imagingStudies", "diagnosticReports", "procedures"]


@dataclass(frozen=True)
class RecentMri:
    finding: Finding
    within_critical: Evidence | None


def recent_mri(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> RecentMri:
    cfg, vs = k.config.recent_mri, k.vs(Role.SPINE_MRI)
    evidence: list[Evidence] = []
    for fact in (
        *facts.service_requests,
        *facts.imaging_studies,
        *facts.diagnostic_reports,
        *facts.procedures,
    ):
        if fact.status not in STATUSES[fact.ref.split("/")[0]] or fact.date is None:
            continue
        if bp.episode_start is None or fact.date.day < bp.episode_start.day or fact.date.at > now:
            continue
        ev = coded(fact, vs)
        if ev is not None and days_between(fact.date, now) <= cfg.within_days:
            evidence.append(ev)
    evidence.sort(key=lambda e: (e.date, e.ref), reverse=True)  # most recent first
    critical = next(
        (e for e in evidence if e.date and within_hours(e.date, now, cfg.critical_within_hours)), None
    )
    return RecentMri(
        Finding("F10", bool(evidence), tuple(evidence[:1]), unavailable(KEYS, facts.unavailable)), critical
    )
