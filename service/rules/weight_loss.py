"""F5 Unexplained weight loss (CLINICAL_RULES.md F5, Readings 12; Harrison's, BMJ Best Practice, AAFP).

When (a): the latest body weight is within 90 days of T, and the baseline (Revision 2 item 31: the median of the
weights dated 30-365 days before it; ``weightLoss.baseline`` "maximum" restores the first release) is at least
5.0 % higher (at least 2 measurements, the latest included; the 4.5 kg rule is off by default);
or (b): an active Condition or symptom Observation with a weight-loss code is dated within the last 180 days.
Unless (c): a bariatric operation, weight programme or diet, or weight-loss medication is active or dated in
the 365 days before the latest weight (for (b) alone: before T), or a pregnancy explains it (item 31: a
pregnancy Condition dated at most 10 + 12 months before the latest weight, i.e. a current pregnancy or one
that can have ended in the 12 months before it; no verified delivery code exists in the shared data, so a
delivery is read only through the pregnancy code). A medication counts by a code of the weight-loss medication
value set, or, when none of its codes is in it, by an ingredient word of ``weightLoss.medicationKeywords`` in
its display or text (a GLP-1 agonist given only by a reference's display). Coded unintentional/unexplained
weight loss (R63.4, 448765001, 422868009) is trusted even then.
Then: unexplained weight loss is a red flag (C2 with cancer history, C3 without).
"""

from __future__ import annotations

import re
from datetime import datetime
from statistics import median

from service.facts import Fact, PatientFacts
from service.fhir.dates import When, add_months, days_between
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, Missing, coded, unavailable, value_coded
from service.rules.text_signs import text_evidence, within_days

_EXCLUSION_KEYS = ["procedures", "carePlans", "serviceRequests", "medicationRequests", "medicationStatements"]


def _pregnancy_explains(facts: PatientFacts, k: Knowledge, anchor: datetime) -> bool:
    vs = k.vs(Role.BACK_PAIN_PREGNANCY)
    months = k.config.pregnancy_recency_months + k.config.weight_loss.postpartum_months
    return any(
        coded(f, vs) is not None
        and f.date is not None
        and f.date.at <= anchor
        and add_months(f.date.day, months) >= anchor.date()
        for f in facts.conditions
        if f.verification not in ("refuted", "entered-in-error")
    )


def _named(fact: Fact, keywords: re.Pattern[str]) -> bool:
    """A weight-loss medication named by ingredient in the display or text (no code of the value set)."""
    return any(keywords.search(t) for t in (fact.text, *fact.displays) if t)


def _explained(facts: PatientFacts, k: Knowledge, anchor: datetime) -> bool:
    if _pregnancy_explains(facts, k, anchor):
        return True
    window = k.config.weight_loss.exclusion_window_days
    explained, medication = k.vs(Role.WEIGHT_LOSS_EXPLAINED), k.vs(Role.WEIGHT_LOSS_MEDICATION)
    sources: list[tuple[Fact, bool]] = [
        (f, False) for f in (*facts.conditions, *facts.procedures, *facts.care_plans, *facts.service_requests)
    ]
    sources += [(f, True) for f in facts.medications]
    keywords = k.config.weight_loss.medication_regex
    for fact, is_medication in sources:
        if (medication if is_medication else explained).first_match(fact.codes) is None and not (
            is_medication and keywords is not None and _named(fact, keywords)
        ):
            continue
        if fact.ref.startswith(("ServiceRequest/", "CarePlan/")) and fact.status not in (
            "active",
            "completed",
        ):
            continue
        recent = fact.date is not None and 0 <= days_between(fact.date, anchor) <= window
        if recent or (fact.active and not fact.ref.startswith("Procedure/")):
            return True
    return False


def _series(
    facts: PatientFacts, k: Knowledge, now: datetime
) -> tuple[Evidence | None, When | None, Missing | None]:
    cfg = k.config.weight_loss
    vs = k.vs(Role.BODY_WEIGHT)
    weights = sorted(
        (
            (f.date, f.weight_kg, f)
            for f in facts.observations
            if f.date is not None and f.weight_kg is not None and f.date.at <= now and vs.first_match(f.codes)
        ),
        key=lambda t: (t[0], t[2].ref),
    )
    if not weights:
        return None, None, Missing("no-weights")
    if len(weights) == 1:
        return None, None, Missing("one-weight")
    latest_at, latest_kg, latest = weights[-1]
    if days_between(latest_at, now) > cfg.latest_within_days:
        return None, None, Missing("no-recent-weight", days=cfg.latest_within_days)
    baseline = [
        (kg, when, f)
        for when, kg, f in weights
        if cfg.baseline_min_gap_days <= days_between(when, latest_at.at) <= cfg.baseline_window_days
    ]
    if not baseline:
        return None, latest_at, Missing("no-baseline-weight")
    if cfg.baseline == "maximum":
        base_kg, base_at, base = max(baseline, key=lambda t: (t[0], t[1]))
    else:  # the median weight; the weighing closest to it (latest first) is cited
        base_kg = median(kg for kg, _, _ in baseline)
        _, base_at, base = min(baseline, key=lambda t: (abs(t[0] - base_kg), -t[1].at.timestamp()))
    # base_at/base are only shown for a single baseline weight
    loss = (base_kg - latest_kg) / base_kg * 100
    fires = round(loss, 6) >= cfg.percent or (cfg.kilogram_rule and base_kg - latest_kg >= cfg.kilograms)
    if not fires:
        return None, latest_at, None
    if len(baseline) == 1:
        observed = (
            f"{latest_kg:.1f} kg on {latest_at.iso_day()} vs {base_kg:.1f} kg on {base_at.iso_day()} "
            f"({base.ref}): {loss:.1f} % loss"
        )
    else:
        dates = sorted(when for _, when, _ in baseline)
        observed = (
            f"{latest_kg:.1f} kg on {latest_at.iso_day()} vs {cfg.baseline} {base_kg:.1f} kg of "
            f"{len(baseline)} weights dated {dates[0].iso_day()} to {dates[-1].iso_day()}: {loss:.1f} % loss"
        )
    ev = Evidence(
        ref=latest.ref,
        date=latest_at,
        what="body weight series",
        value_set=vs.id,
        observed=observed,
        threshold=f">= {cfg.percent:g} %",
    )
    return ev, latest_at, None


def _coded(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> list[Evidence]:
    vs, window = k.vs(Role.WEIGHT_LOSS_CODED), k.config.weight_loss.coded_within_days
    symptom = k.vs(Role.SYMPTOM_OBSERVATION)
    found = [coded(f, vs) for f in facts.conditions if f.active]
    found += [value_coded(f, vs) for f in facts.observations if symptom.first_match(f.codes)]
    text = text_evidence(facts, k, "weight-loss", bp.text_refs, within_days(window, now)) if facts.texts else []
    return [
        e for e in found if e is not None and e.date is not None and 0 <= days_between(e.date, now) <= window
    ] + text


def weight_loss(facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain) -> Finding:
    series, latest_at, missing = _series(facts, k, now)
    evidence: list[Evidence] = []
    if series is not None and latest_at is not None and not _explained(facts, k, latest_at.at):
        evidence.append(series)
    trusted = k.vs(Role.WEIGHT_LOSS_UNEXPLAINED)
    explained_now: bool | None = None  # asked only of a coded or written loss that is not trusted as such
    for ev in _coded(facts, k, now, bp):
        if ev.code is not None and trusted.contains(ev.code):
            evidence.append(ev)
            continue
        if explained_now is None:
            explained_now = _explained(facts, k, now)
        if not explained_now:
            evidence.append(ev)
    gaps = unavailable(["observations", *_EXCLUSION_KEYS], facts.unavailable)
    return Finding("F5", bool(evidence), tuple(evidence), ((missing,) if missing else ()) + gaps)
