"""F3 Cancer history (CLINICAL_RULES.md F3, §4.1, Decision 1, Readings 11, 20).

When: any Condition (any clinicalStatus) whose verificationStatus is confirmed or absent carries a malignant
code (ICD-10-CM C* except C44; VSAC Cancer SNOMED minus non-melanoma skin cancer), a personal-history code
(Z85.* except Z85.828; 266987004 and checked descendants) or a cancer-pain code. A Condition with no SNOMED
or ICD-10 coding falls back to keywords in its text (never benign, in situ, suspected or skin BCC/SCC).
Then: cancer history is present. The cancer date is the earliest clinical date; an undated cancer counts as
before the back pain. "New since cancer" holds when any active back-pain onset is on or after that date.
Revision 2: a history code (cancer-history set) dated only by recordedDate counts as undated, and undated back
pain with a cancer history is new since cancer (item 35); a code of ``cancer-bone-high-risk`` (bone or spinal
metastasis, myeloma, primary bone/spine/cord malignancy) is kept as ``high_risk``: C2 whatever the dates (item 24).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.facts import Fact, PatientFacts
from service.fhir.dates import When
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.knowledge.valuesets import ICD10CM
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding

COUNTED_VERIFICATION = frozenset({None, "confirmed"})
_ROLES = (Role.CANCER_BONE_HIGH_RISK, Role.CANCER, Role.CANCER_HISTORY, Role.CANCER_PAIN)
_CODED_SYSTEMS = frozenset({ICD10CM, "http://snomed.info/sct"})


@dataclass(frozen=True)
class CancerHistory:
    finding: Finding
    conditions: tuple[Fact, ...]
    earliest: When | None
    undated: bool
    new_since_cancer: bool
    high_risk: Evidence | None = None


def _keyword(fact: Fact, k: Knowledge) -> Evidence | None:
    cfg = k.config
    if not cfg.cancer_keywords.enabled or any(system in _CODED_SYSTEMS for system, _ in fact.codes):
        return None
    text = " ".join(filter(None, [fact.text, *fact.displays]))
    hit = cfg.cancer_include.search(text)
    if hit is None or cfg.cancer_exclude.search(text):
        return None
    return Evidence(
        ref=fact.ref, date=fact.date, what=fact.text or text, text_match=hit.group(0), by_keyword=True
    )


def _cancer_evidence(fact: Fact, k: Knowledge) -> Evidence | None:
    for role in _ROLES:
        vs = k.vs(role)
        key = vs.first_match(fact.codes)
        if key is not None:
            what = fact.display_of(key) or vs.displays.get(key) or key[1]
            return Evidence(ref=fact.ref, date=fact.date, what=what, value_set=vs.id, code=key)
    return _keyword(fact, k)


def cancer_conditions(facts: PatientFacts, k: Knowledge) -> list[tuple[Fact, Evidence]]:
    """Every Condition that counts as cancer history, with its evidence (no back-pain dependence)."""
    return [
        (fact, ev)
        for fact in facts.conditions
        if fact.verification in COUNTED_VERIFICATION
        if (ev := _cancer_evidence(fact, k)) is not None
    ]


def _undated(fact: Fact, ev: Evidence, k: Knowledge) -> bool:
    """Item 35: a history code dated only by recordedDate tells when it was recorded, not when the cancer was."""
    return fact.date is None or (fact.recorded_only and ev.value_set == k.vs(Role.CANCER_HISTORY).id)


def cancer_history(facts: PatientFacts, k: Knowledge, bp: BackPain) -> CancerHistory:
    found = cancer_conditions(facts, k)
    dated = [fact.date for fact, ev in found if fact.date is not None and not _undated(fact, ev, k)]
    earliest = min(dated) if dated else None
    undated = any(_undated(fact, ev, k) for fact, ev in found)
    high_risk_id = k.vs(Role.CANCER_BONE_HIGH_RISK).id
    high_risk = next((ev for _, ev in found if ev.value_set == high_risk_id), None)
    new_since = (
        bool(found)
        and bool(bp.conditions)
        and (
            undated
            or any(c.date is None for c in bp.conditions)
            or any(
                c.date is not None and earliest is not None and c.date.day >= earliest.day
                for c in bp.conditions
            )
        )
    )
    return CancerHistory(
        finding=Finding("F3", bool(found), tuple(ev for _, ev in found)),
        conditions=tuple(fact for fact, _ in found),
        earliest=earliest,
        undated=undated,
        new_since_cancer=new_since,
        high_risk=high_risk,
    )
