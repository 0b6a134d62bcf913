"""Runs every feature rule once and keeps the findings together for the decision table and the card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.facts import PatientFacts
from service.knowledge import Knowledge
from service.rules.age import age_modifier, in_scope
from service.rules.back_pain import BackPain, back_pain
from service.rules.base import Finding
from service.rules.cancer import CancerHistory, cancer_history
from service.rules.medication import medication_resistance
from service.rules.neuro import neuro_deficit
from service.rules.night_pain import night_pain
from service.rules.persistence import persistence
from service.rules.recent_mri import RecentMri, recent_mri
from service.rules.treatment import treatment_failure
from service.rules.weight_loss import weight_loss

RED_FLAGS = ("F5", "F6", "F7", "F8")


@dataclass(frozen=True)
class Assessment:
    facts: PatientFacts
    in_scope: bool
    back_pain: BackPain
    cancer: CancerHistory
    mri: RecentMri
    findings: dict[str, Finding]

    def has(self, feature: str) -> bool:
        return self.findings[feature].present

    @property
    def red_flag(self) -> bool:
        return any(self.has(f) for f in RED_FLAGS)

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(f for f, finding in self.findings.items() if finding.present)


def assess(facts: PatientFacts, k: Knowledge, now: datetime) -> Assessment:
    """Every feature F1-F10 for ``facts`` at T = ``now``; pure."""
    bp = back_pain(facts, k, now)
    cancer = cancer_history(facts, k, bp)
    mri = recent_mri(facts, k, now, bp)
    findings = {
        "F1": bp.finding,
        "F2": persistence(bp, k, now),
        "F3": cancer.finding,
        "F4": neuro_deficit(facts, k, now, bp, cancer.finding.present),
        "F5": weight_loss(facts, k, now, bp),
        "F6": night_pain(facts, k, now, bp),
        "F7": treatment_failure(facts, k, now, bp),
        "F8": medication_resistance(facts, k, now, bp),
        "F9": age_modifier(facts, k, now),
        "F10": mri.finding,
    }
    return Assessment(facts, in_scope(facts, k, now), bp, cancer, mri, findings)


def decide(a: Assessment, tiers: dict[str, bool]) -> str | None:
    """CLINICAL_RULES.md §2.3: the first matching row whose tier is switched on; at most one tier."""
    if not a.in_scope or not a.has("F1"):
        return None
    neuro, cancer = a.has("F4"), a.has("F3")
    rows = [
        ("C1", neuro),
        ("C2", cancer and not neuro and (a.cancer.new_since_cancer or a.red_flag)),
        ("C3", not cancer and not neuro and a.red_flag),
        ("C4", cancer and not neuro and not (a.cancer.new_since_cancer or a.red_flag)),
        ("C5", a.has("F2") and not cancer and not neuro and not a.red_flag),
    ]
    return next((tier for tier, matches in rows if matches and tiers.get(tier, False)), None)
