"""Findings -> one CDS Hooks Card: summary, indicator, Markdown detail with the evidence, links, orders.

All wording comes from ``cards/cards.json``; the card uuid is uuid5 over the hook instance and the tier.
"""

from __future__ import annotations

from datetime import datetime

from service.assessment import Assessment
from service.cdshooks.models import Card, Link, Source
from service.knowledge import Knowledge
from service.orders import deadline_of, mri_region, stable_uuid, suggestions, tier_mri
from service.rules.base import Evidence, Finding

FEATURE_ORDER = ("F1", "F2", "F3", "F4", "F11", "F12", "F5", "F6", "F7", "F8", "F9", "F10")
_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
}


def _evidence(ev: Evidence, k: Knowledge) -> str:
    texts = k.cards.texts
    what = ev.what
    if ev.code is not None:
        what += f" [{_SYSTEMS.get(ev.code[0], ev.code[0])} {ev.code[1]}]"
    if ev.observed:
        what += "; " + texts["measured"].format(observed=ev.observed, threshold=ev.threshold or "-")
    if ev.text_match:
        what += "; " + texts["fromText"].format(match=ev.text_match)
    date = ev.date.iso_day() if ev.date else "no date"
    return texts["evidence"].format(what=what, ref=ev.ref, date=date)


def _flag_lines(findings: list[Finding], k: Knowledge) -> list[str]:
    lines = []
    for finding in findings:
        label = k.cards.flag_labels[finding.feature]
        for ev in finding.evidence:
            lines.append(k.cards.texts["flagLine"].format(label=label, evidence=_evidence(ev, k)))
    return lines


def _missing_lines(a: Assessment, k: Knowledge) -> list[str]:
    lines: list[str] = []
    for feature in FEATURE_ORDER:
        finding = a.findings[feature]
        if finding.present and feature != "F10":
            continue
        for gap in finding.missing:
            reason = k.cards.reasons[gap.reason].format(what=gap.what, days=gap.days)
            lines.append(
                k.cards.texts["notEvaluatedLine"].format(label=k.cards.flag_labels[feature], reason=reason)
            )
    return list(dict.fromkeys(lines))


def _day(ev: Evidence) -> str:
    return ev.date.iso_day() if ev.date else "no date"


def _mri_notes(a: Assessment, tier: str, k: Knowledge, now: datetime) -> list[str]:
    """Item 26 wording: done (review it), ordered but not done, or done for another region."""
    texts, names, plan = k.cards.texts, k.cards.region_names, k.orders.plans.get(tier)
    if plan is None or not plan.mri:
        return []
    verdict, region = tier_mri(a, tier, k, now), names[mri_region(a, tier)]
    if verdict.suppressed_by is not None:
        return [texts["mriDone"].format(date=_day(verdict.suppressed_by), ref=verdict.suppressed_by.ref)]
    notes = []
    if verdict.partial is not None:
        covered = [names[r] for r in ("lumbar", "thoracic", "cervical") if r in verdict.partial.regions]
        notes.append(
            texts["mriPartial"].format(
                date=_day(verdict.partial.evidence),
                ref=verdict.partial.evidence.ref,
                covered=" and ".join(covered) or names["unspecified"],
                region=region,
            )
        )
    if verdict.pending is not None:
        deadline = deadline_of(now, plan.deadline_hours).strftime("%Y-%m-%d %H:%M UTC")
        notes.append(
            texts["mriPending"].format(
                date=_day(verdict.pending), ref=verdict.pending.ref, region=region, deadline=deadline
            )
        )
    return notes


def _notes(a: Assessment, tier: str, k: Knowledge, now: datetime) -> list[str]:
    texts, notes = k.cards.texts, []
    if tier == "C2" and a.cancer.high_risk is not None:
        notes.append(texts["highRiskCancer"].format(ref=a.cancer.high_risk.ref))
    if tier == "C2" and a.cancer.new_since_cancer:
        undated = a.cancer.undated or a.cancer.earliest is None or any(c.date is None for c in a.back_pain.conditions)
        if undated:
            notes.append(texts["newSinceUndatedCancer"])
        else:
            assert a.cancer.earliest is not None
            notes.append(texts["newSinceCancer"].format(date=a.cancer.earliest.iso_day()))
    if tier == "C2" and a.back_pain.thoracic_or_neck is not None:
        notes.append(texts["thoracicOrNeckPain"].format(ref=a.back_pain.thoracic_or_neck.ref))
    if tier == "C3R":
        signs = ", ".join(k.cards.sign_names[f] for f in a.weak)
        notes.append(texts["signsLine"].format(signs=signs))
    notes += _mri_notes(a, tier, k, now)
    if a.back_pain.pregnancy is not None and tier in ("C1", "C1M", "C2", "C3"):
        notes.append(texts["pregnancy"].format(ref=a.back_pain.pregnancy.ref))
    return notes


def render_card(a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str) -> Card:
    text = k.cards.tiers[tier]
    cfg = k.config
    present = [a.findings[f] for f in FEATURE_ORDER if a.findings[f].present and f != "F10"]
    advice = list(text.advice)
    links = list(text.links)
    if a.has("F3") and text.cancer_advice:
        advice.append(text.cancer_advice)
        links += [link for link in text.cancer_links if link not in links]
    fill = {"neuroDays": cfg.neurological_recency_days, "persistDays": cfg.persistence_days}
    parts = [text.intro.format(**fill), "", k.cards.texts["flagsHeading"], *_flag_lines(present, k)]
    notes = _notes(a, tier, k, now)
    if notes:
        parts += ["", *notes]
    missing = _missing_lines(a, k)
    if missing:
        parts += ["", k.cards.texts["notEvaluatedHeading"], *missing]
    if advice:
        parts += ["", k.cards.texts["considerHeading"], *(f"- {line.format(**fill)}" for line in advice)]
    if text.questions:
        parts += ["", k.cards.texts["questionsHeading"], *(f"- {line.format(**fill)}" for line in text.questions)]
    if text.closing:
        parts += ["", text.closing.format(**fill)]
    proposals = suggestions(a, tier, k, now, hook_instance)
    return Card(
        uuid=stable_uuid(hook_instance, tier),
        summary=text.summary,
        detail="\n".join(parts),
        indicator=text.indicator,
        source=Source(label=k.cards.source.label, url=k.cards.source.url),
        suggestions=proposals,
        selection_behavior="any" if proposals else None,
        override_reasons=k.feedback.override_reasons(k.service.hook, tier),
        links=[
            Link(label=k.cards.links[name].label, url=k.cards.links[name].url, type="absolute") for name in links
        ],
    )
