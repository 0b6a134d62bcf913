"""F10 Recent spine MRI, for suppression (CLINICAL_RULES.md F10, Readings 15, 19; Revision 2 item 26).

C3 (Readings 15, 19): a spine MRI of any region and contrast recorded on or after the back-pain episode start
and within 30 days of T (a ServiceRequest active or completed, an ImagingStudy available or registered, a
DiagnosticReport preliminary/final/amended/corrected, a Procedure in progress or completed) removes the MRI and
CT suggestions; the card says "review the result".

C1, C1M and C2 (item 26): only a *performed* MRI (ImagingStudy available, DiagnosticReport preliminary/final/
amended/corrected, Procedure completed) that covers the region the tier needs (whole spine for C1M, C2 and the
cord/cancer emergency; lumbosacral or whole for cauda equina) suppresses the MRI, within 24 hours for C1/C1M
(instants compared exactly; a date-only value means today or yesterday) and 30 days for C2. A pending order
keeps the suggestion and the card says to make sure it covers the region in time; a performed MRI of another
region keeps it and the card says which region was covered. CPT-coded MRIs count by code (never by descriptor).

A code of the spineMri value set is read with its region value sets; any other spine MRI code of
``cards/spine-imaging.json`` (the verified CPT codes, which the value sets do not hold) counts too, its region
from that file and the regions it covers from order-decisions.json ``covers``, and it is named in the
service's own words (``studyNames``), never by the record's display, which for CPT is the licensed descriptor.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

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
PERFORMED = {
    "ImagingStudy": frozenset({"available"}),
    "DiagnosticReport": frozenset({"preliminary", "final", "amended", "corrected"}),
    "Procedure": frozenset({"completed"}),
}
KEYS = ["serviceRequests", "imagingStudies", "diagnosticReports", "procedures"]
REGION_ROLES = (
    ("whole", Role.SPINE_MRI_WHOLE),
    ("lumbar", Role.SPINE_MRI_LUMBOSACRAL),
    ("thoracic", Role.SPINE_MRI_THORACIC),
    ("cervical", Role.SPINE_MRI_CERVICAL),
)


class MriRecord(NamedTuple):
    evidence: Evidence
    performed: bool
    regions: frozenset[str]

    def covers(self, needed: str) -> bool:
        return "whole" in self.regions or needed in self.regions


class RecentMri(NamedTuple):
    finding: Finding
    records: tuple[MriRecord, ...] = ()


class MriVerdict(NamedTuple):
    """What item 26 says for one tier: the MRI that suppresses it, or a pending order, or a partial region."""

    suppressed_by: Evidence | None = None
    pending: Evidence | None = None
    partial: MriRecord | None = None


def recent_mri(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> RecentMri:
    cfg, vs = k.config.recent_mri, k.vs(Role.SPINE_MRI)
    evidence: list[Evidence] = []
    records: list[MriRecord] = []
    for fact in (
        *facts.service_requests,
        *facts.imaging_studies,
        *facts.diagnostic_reports,
        *facts.procedures,
    ):
        kind = fact.ref.split("/")[0]
        if fact.status not in STATUSES[kind] or fact.date is None:
            continue
        if bp.episode_start is None or fact.date.day < bp.episode_start.day or fact.date.at > now:
            continue
        ev = coded(fact, vs)
        if ev is not None:
            regions = frozenset(name for name, role in REGION_ROLES if k.vs(role).first_match(fact.codes))
        else:
            study = k.order.imaging.first_mri(fact.codes)
            if study is None:
                continue
            ev = Evidence(ref=fact.ref, date=fact.date, what=k.order.decisions.study_names["MRI"][study.region],
                          code=study.key)
            covering = k.order.decisions.covering
            regions = frozenset(name for name, _ in REGION_ROLES if study.region in covering(name))
        records.append(MriRecord(ev, fact.status in PERFORMED.get(kind, frozenset()), regions))
        if days_between(fact.date, now) <= cfg.within_days:
            evidence.append(ev)
    evidence.sort(key=lambda e: (e.date, e.ref), reverse=True)  # most recent first
    records.sort(key=lambda r: (r.evidence.date, r.evidence.ref), reverse=True)
    finding = Finding("F10", bool(evidence), tuple(evidence[:1]), unavailable(KEYS, facts.unavailable))
    return RecentMri(finding, tuple(records))


def mri_verdict(mri: RecentMri, k: Knowledge, now: datetime, needed: str, critical: bool) -> MriVerdict:
    """Item 26 for C1/C1M (``critical``: within 24 h) and C2 (within 30 days); ``needed`` is whole or lumbar."""
    cfg = k.config.recent_mri

    def in_window(ev: Evidence) -> bool:
        assert ev.date is not None
        if critical:
            return within_hours(ev.date, now, cfg.critical_within_hours)
        return days_between(ev.date, now) <= cfg.within_days

    performed = [r for r in mri.records if r.performed and in_window(r.evidence)]
    covering = next((r for r in performed if r.covers(needed)), None)
    if covering is not None:
        return MriVerdict(suppressed_by=covering.evidence)
    pending = next(
        (
            r.evidence
            for r in mri.records
            if not r.performed and r.evidence.date and days_between(r.evidence.date, now) <= cfg.within_days
        ),
        None,
    )
    partial = performed[0] if performed else None
    return MriVerdict(pending=pending, partial=partial)
