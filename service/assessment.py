"""Runs every feature rule once and keeps the findings together for the decision table and the card."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from service.facts import PatientFacts
from service.fhir.dates import age_in_years
from service.knowledge import Knowledge
from service.rules.age import age_modifier, in_scope
from service.rules.analgesics import classify_all
from service.rules.back_pain import BackPain, back_pain
from service.rules.base import Finding
from service.rules.cancer import CancerHistory, cancer_conditions, cancer_history
from service.rules.medication import medication_resistance
from service.rules.neuro import Neurology, neurology
from service.rules.night_pain import night_pain
from service.rules.persistence import persistence
from service.rules.recent_mri import RecentMri, recent_mri
from service.rules.treatment import treatment_failure
from service.rules.weight_loss import weight_loss

# Precedence (Revision 2 item 27): C1 > C1M > C2 > C3 > C3R > C4 > C5.
TIER_ORDER = ("C1", "C1M", "C2", "C3", "C3R", "C4", "C5")


class Assessment(NamedTuple):
    facts: PatientFacts
    in_scope: bool
    back_pain: BackPain
    cancer: CancerHistory
    mri: RecentMri
    neuro: Neurology
    findings: dict[str, Finding]
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    age: int | None = None

    def has(self, feature: str) -> bool:
        return self.findings[feature].present

    @property
    def red_flag(self) -> bool:
        """Any C3 sign, strong or weak (for C2: cancer history plus another red flag)."""
        return bool(self.strong or self.weak)

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(f for f, finding in self.findings.items() if finding.present)


def assess(facts: PatientFacts, k: Knowledge, now: datetime) -> Assessment:
    """Every feature F1-F12 for ``facts`` at T = ``now``; pure."""
    found = cancer_conditions(facts, k)  # once: back pain needs whether any, F3 needs them all
    bp = back_pain(facts, k, now, with_neck=bool(found))
    cancer = cancer_history(facts, k, bp, found)
    mri = recent_mri(facts, k, now, bp)
    neuro = neurology(facts, k, now, bp, cancer.finding.present)
    # F7 and F8 read every medication's analgesic class, and only with active back pain.
    classes = classify_all(facts.medications, k) if bp.conditions else ()
    findings = {
        "F1": bp.finding,
        "F2": persistence(bp, k, now),
        "F3": cancer.finding,
        "F4": neuro.emergency,
        "F11": neuro.symptom,
        "F12": neuro.persisting,
        "F5": weight_loss(facts, k, now, bp),
        "F6": night_pain(facts, k, now, bp),
        "F7": treatment_failure(facts, k, now, bp, classes),
        "F8": medication_resistance(facts, k, now, bp, classes),
        "F9": age_modifier(facts, k, now),
        "F10": mri.finding,
    }
    signs = k.config.red_flag_signs
    strong = tuple(f for f in signs.strong if findings[f].present)
    weak = tuple(f for f in signs.weak if findings[f].present)
    age = age_in_years(facts.birth_date, now) if facts.birth_date else None
    return Assessment(facts, in_scope(facts, k, now), bp, cancer, mri, neuro, findings, strong, weak, age)


def c3_holds(a: Assessment, k: Knowledge) -> bool:
    """Item 27: a strong sign, two weak ones, or one weak sign with age >= 50 (F9) or persistence (F2)."""
    signs = k.config.red_flag_signs
    if a.strong or len(a.weak) >= signs.weak_needed:
        return True
    return bool(a.weak) and any(a.has(f) for f in signs.single_weak_with)


def decide(a: Assessment, tiers: dict[str, bool], k: Knowledge | None = None) -> str | None:
    """The first matching row (C1 > C1M > C2 > C3 > C3R > C4 > C5) whose tier is on; at most one tier.

    Without ``k`` the first-release reading of C3 (any red flag) is used; the engine always passes it.
    """
    if not a.in_scope or not a.has("F1"):
        return None
    emergency, symptom, cancer = a.has("F4"), a.has("F11"), a.has("F3")
    c2 = cancer and (
        a.cancer.high_risk is not None
        or a.cancer.new_since_cancer
        or a.red_flag
        or a.back_pain.thoracic_or_neck is not None
    )
    c3 = not cancer and (c3_holds(a, k) if k is not None else a.red_flag)
    rows = [
        ("C1", emergency),
        ("C1M", cancer and symptom),
        ("C2", c2),
        ("C3", c3),
        ("C3R", not cancer and not c3 and bool(a.weak)),
        ("C4", cancer and not c2),
        ("C5", a.has("F2") and not cancer and not a.red_flag),
    ]
    # A tier switched off gives no card, never a lower tier whose wording would be wrong (cards/README.md).
    for tier, matches in rows:
        if matches:
            return tier if tiers.get(tier, False) else None
    return None
