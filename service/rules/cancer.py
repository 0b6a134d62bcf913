"""F3 Cancer history (CLINICAL_RULES.md F3, §4.1, Decision 1, Readings 11, 20).

When: any Condition (any clinicalStatus) whose verificationStatus is confirmed or absent carries a malignant
code (ICD-10-CM C* except C44; VSAC Cancer SNOMED minus non-melanoma skin cancer), a personal-history code
(Z85.* except Z85.828; 266987004 and checked descendants) or a cancer-pain code. A Condition none of whose
codes is in a value set of the service falls back to the cancer keywords (item 29 b: cancer, tumour, neoplasm,
carcinoma, sarcoma, lymphoma, leukaemia, myeloma, melanoma, metastasis, as whole words) in its code.text or
coding displays, as read by the clinical text step: never benign, in situ, uncertain behaviour, suspected,
possible, "?", rule out, screening, risk, family or relatives, "no history", skin BCC/SCC. Cancer found by the
text step in back-pain text or a clinical note (item 30) also counts, as an undated cancer.
Then: cancer history is present. The cancer date is the earliest clinical date; an undated cancer counts as
before the back pain. "New since cancer" holds when any active back-pain onset is on or after that date.
Revision 2: a history code (cancer-history set) dated only by recordedDate counts as undated, and undated back
pain with a cancer history is new since cancer (item 35); a code of ``cancer-bone-high-risk`` (bone or spinal
metastasis, myeloma, primary bone/spine/cord malignancy) is kept as ``high_risk``: C2 whatever the dates (item 24).
"""

from __future__ import annotations

from typing import NamedTuple

from service.facts import Fact, PatientFacts, TextFact
from service.fhir.dates import When
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.knowledge.valuesets import CompiledValueSet
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding
from service.rules.text_signs import back_pain_text_refs, text_evidence

COUNTED_VERIFICATION = frozenset({None, "confirmed"})
_ROLES = (Role.CANCER_BONE_HIGH_RISK, Role.CANCER, Role.CANCER_HISTORY, Role.CANCER_PAIN)


class CancerHistory(NamedTuple):
    finding: Finding
    conditions: tuple[Fact, ...]
    earliest: When | None
    undated: bool
    new_since_cancer: bool
    high_risk: Evidence | None = None


def _known_code(fact: Fact, k: Knowledge) -> bool:
    """Whether any of the Condition's codes is in a value set of the service (then no keyword fallback).

    One look-up per code in the union of every expansion (built at knowledge load), not one per value set.
    """
    known = k.known_codes
    return any(known.contains(key) for key in fact.codes)


def _label_hits(facts: PatientFacts) -> dict[str, TextFact]:
    """The first cancer mention of each Condition's own label, gathered in one pass over the texts."""
    hits: dict[str, TextFact] = {}
    for t in facts.texts:
        if t.sign == "cancer" and t.source == "condition-label" and t.ref not in hits:
            hits[t.ref] = t
    return hits


def _cancer_evidence(
    fact: Fact, sets: tuple[CompiledValueSet, ...], hits: dict[str, TextFact] | None, k: Knowledge
) -> Evidence | None:
    for vs in sets:
        key = vs.first_match(fact.codes)
        if key is not None:
            what = fact.display_of(key) or vs.displays.get(key) or key[1]
            return Evidence(ref=fact.ref, date=fact.date, what=what, value_set=vs.id, code=key)
    hit = hits.get(fact.ref) if hits else None
    if hit is None or _known_code(fact, k):
        return None
    return Evidence(
        ref=fact.ref, date=fact.date, what=fact.text or hit.sentence, text_match=hit.phrase, by_keyword=True
    )


def _written(_: When | None, tf: TextFact) -> bool:
    return tf.source != "condition-label"


def cancer_conditions(facts: PatientFacts, k: Knowledge) -> list[tuple[Fact, Evidence]]:
    """Every Condition that counts as cancer history, with its evidence (no back-pain dependence).

    The four value sets and the labels' cancer mentions are gathered once per call, not once per Condition.
    """
    if not facts.conditions:
        return []
    sets = tuple(k.vs(role) for role in _ROLES)
    hits = _label_hits(facts) if k.config.cancer_keywords.enabled else None
    return [
        (fact, ev)
        for fact in facts.conditions
        if fact.verification in COUNTED_VERIFICATION
        if (ev := _cancer_evidence(fact, sets, hits, k)) is not None
    ]


def _undated(fact: Fact, ev: Evidence, k: Knowledge) -> bool:
    """Item 35: a history code dated only by recordedDate tells when it was recorded, not when the cancer was."""
    return fact.date is None or (fact.recorded_only and ev.value_set == k.vs(Role.CANCER_HISTORY).id)


def cancer_history(
    facts: PatientFacts, k: Knowledge, bp: BackPain, found: list[tuple[Fact, Evidence]] | None = None
) -> CancerHistory:
    """F3 for ``facts``; ``found`` is :func:`cancer_conditions`' answer when the caller already has it."""
    if found is None:
        found = cancer_conditions(facts, k)
    dated = [fact.date for fact, ev in found if fact.date is not None and not _undated(fact, ev, k)]
    earliest = min(dated) if dated else None
    written = (  # cancer written in back-pain text or a clinical note, not in a Condition's own label
        text_evidence(facts, k, "cancer", back_pain_text_refs(facts, k, bp), _written)
        if k.config.cancer_keywords.enabled and bp.conditions
        else []
    )
    undated = any(_undated(fact, ev, k) for fact, ev in found) or bool(written)
    high_risk_id = k.vs(Role.CANCER_BONE_HIGH_RISK).id
    high_risk = next((ev for _, ev in found if ev.value_set == high_risk_id), None)
    new_since = (
        bool(found or written)
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
        finding=Finding("F3", bool(found or written), tuple(ev for _, ev in found) + tuple(written)),
        conditions=tuple(fact for fact, _ in found),
        earliest=earliest,
        undated=undated,
        new_since_cancer=new_since,
        high_risk=high_risk,
    )
