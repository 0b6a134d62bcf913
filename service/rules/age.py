"""F9 Age 50 or over (CLINICAL_RULES.md F9; Deyo & Diehl 1988, ACP "weaker" risk factor) and the age scope.

When: the patient's age at T is at least ``ageModifierYears`` (50).
Then: shown in the card detail as a modifier; it never fires a card on its own. Patients under
``minimumAgeYears`` (18) are out of scope (§2.1.6); an unknown age is evaluated and reported as missing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from service.facts import PatientFacts
from service.fhir.dates import When, age_in_years
from service.knowledge import Knowledge
from service.rules.base import Evidence, Finding, Missing


def age_modifier(facts: PatientFacts, k: Knowledge, now: datetime) -> Finding:
    if facts.birth_date is None:
        return Finding("F9", False, missing=(Missing("no-birth-date"),))
    years = age_in_years(facts.birth_date, now)
    if years < k.config.age_modifier_years:
        return Finding("F9", False)
    today = When(datetime.combine(now.date(), time.min, UTC), has_time=False)
    ev = Evidence(
        ref=facts.patient_ref,
        date=today,
        what=f"{years} years old (threshold >= {k.config.age_modifier_years})",
    )
    return Finding("F9", True, (ev,))


def in_scope(facts: PatientFacts, k: Knowledge, now: datetime) -> bool:
    """False only for a patient known to be younger than the minimum age."""
    return facts.birth_date is None or age_in_years(facts.birth_date, now) >= k.config.minimum_age_years
