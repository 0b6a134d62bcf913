"""Findings -> one CDS Hooks Card a clinician reads in seconds.

Layout of ``detail`` (all wording in ``cards/cards.json``): the tier's action lines (what is suspected, what
to do by when), notes that change what is proposed, the evidence in plain words (what, when, value vs
threshold), "Not evaluated" only for signs that would change the tier, and a trailing "Sources" line with
the resource ids and codes. Every value taken from FHIR data passes through
:func:`service.markdown.escape_markdown` before it is filled into a template. The card uuid is uuid5 over
the hook instance and the tier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from service.assessment import Assessment, decide
from service.cdshooks.models import Card, Coding, Link, Source
from service.knowledge import Knowledge
from service.markdown import escape_markdown as md
from service.orders import PlannedOrder, due_phrase, planned_orders, stable_uuid, suggestions
from service.rules.base import Evidence

MODIFIERS = ("F10",)  # findings that are never listed as flags (they change the orders, not the tier)
_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
}
_OPERATORS = (("<=", "≤"), (">=", "≥"))


def _plain(threshold: str) -> str:
    for ascii_op, symbol in _OPERATORS:
        threshold = threshold.replace(ascii_op, symbol)
    return threshold


def flag_features(a: Assessment, k: Knowledge) -> list[str]:
    """Present features in the layout's order (unknown new features after them), modifiers left out."""
    order = [f for f in k.cards.layout.flag_order if f in a.findings]
    order += [f for f in a.findings if f not in order]
    return [f for f in order if f not in MODIFIERS and a.findings[f].present]


def _evidence_text(feature: str, ev: Evidence, k: Knowledge) -> str:
    texts = k.cards.texts
    observed = md(ev.observed) if ev.observed else ""
    threshold = md(_plain(ev.threshold)) if ev.threshold else "-"
    values = {
        "what": md(_plain(ev.what)),
        "date": ev.date.iso_day() if ev.date else "no date",
        "observed": observed,
        "threshold": threshold,
        "measured": texts["measured"].format(observed=observed, threshold=threshold) if observed else "",
        "fromText": texts["fromText"].format(match=md(ev.text_match, limit=120)) if ev.text_match else "",
    }
    template = k.cards.evidence_by_flag.get(feature, texts["evidence"])
    return template.format(**values)


def _evidence_lines(a: Assessment, features: list[str], k: Knowledge) -> list[str]:
    texts, lines = k.cards.texts, []
    for feature in features:
        label = k.cards.flag_labels.get(feature, feature)
        for ev in a.findings[feature].evidence:
            lines.append(texts["evidenceLine"].format(label=label, evidence=_evidence_text(feature, ev, k)))
    return lines


def _sources(evidence: Iterable[Evidence], k: Knowledge) -> str:
    """``Type/id (SYSTEM code)`` per resource, in the order the card cites them, each once."""
    codes: dict[str, list[str]] = {}
    for ev in evidence:
        entry = codes.setdefault(ev.ref, [])
        if ev.code is not None:
            code = f"{_SYSTEMS.get(ev.code[0], ev.code[0])} {ev.code[1]}"
            if code not in entry:
                entry.append(code)
    items = [
        k.cards.texts["sourceItem"].format(ref=md(ref), codes=md(", ".join(c))).strip()
        for ref, c in codes.items()
    ]
    return k.cards.texts["sources"].format(items=" · ".join(items)) if items else ""


def could_change_tier(a: Assessment, feature: str, tier: str, k: Knowledge) -> bool:
    """Would the card be of another tier if this not-evaluated sign had been found? (Then it is listed.)"""
    finding = a.findings[feature]
    if finding.present:
        return False
    findings = {**a.findings, feature: dataclasses.replace(finding, present=True)}
    return decide(dataclasses.replace(a, findings=findings), k.config.tiers) != tier


def _not_evaluated(a: Assessment, tier: str, k: Knowledge) -> str:
    """Signs that could not be checked and would change the tier; signs sharing a reason share one item."""
    labels_by_reason: dict[str, list[str]] = {}
    for feature, finding in a.findings.items():
        if not finding.missing or not could_change_tier(a, feature, tier, k):
            continue
        label = k.cards.flag_labels.get(feature, feature)
        for gap in finding.missing:
            reason = k.cards.reasons[gap.reason].format(what=md(gap.what), days=gap.days)
            labels = labels_by_reason.setdefault(reason, [])
            if label not in labels:
                labels.append(label)
    items = [
        k.cards.texts["notEvaluatedItem"].format(label=", ".join(labels), reason=reason)
        for reason, labels in labels_by_reason.items()
    ]
    return k.cards.texts["notEvaluated"].format(items="; ".join(items)) if items else ""


def _notes(a: Assessment, tier: str, k: Knowledge) -> tuple[list[str], list[Evidence]]:
    """Lines that change what is proposed (MRI already done, pregnancy, new since cancer) and their sources."""
    texts, notes, cited = k.cards.texts, [], []
    if tier == "C2" and a.cancer.new_since_cancer:
        when = a.cancer.earliest.iso_day() if a.cancer.earliest and not a.cancer.undated else "undated"
        notes.append(texts["newSinceCancer"].format(date=when))
    mri = (
        a.mri.within_critical
        if tier == "C1"
        else (a.mri.finding.evidence[0] if a.mri.finding.evidence else None)
    )
    if mri is not None and tier in ("C1", "C2", "C3"):
        notes.append(texts["mriDone"].format(date=mri.date.iso_day() if mri.date else "no date"))
        cited.append(mri)
    if a.back_pain.pregnancy is not None and tier in ("C1", "C2", "C3"):
        notes.append(texts["pregnancy"])
        cited.append(a.back_pain.pregnancy)
    return notes, cited


def _action_values(a: Assessment, orders: list[PlannedOrder], k: Knowledge) -> dict[str, str | int]:
    cfg = k.config
    values: dict[str, str | int] = {
        "neuroDays": cfg.neurological_recency_days,
        "persistDays": cfg.persistence_days,
    }
    imaging = [o for o in orders if o.spec.category == "imaging"]
    referrals = [o for o in orders if o.spec.category == "referral"]
    if imaging:
        values.update(mri=imaging[0].spec.label, due=due_phrase(imaging[0].hours, k))
    if referrals:
        values.update(referral=referrals[0].spec.label, referralDue=due_phrase(referrals[0].hours, k))
    return values


def _conditions(a: Assessment, orders: list[PlannedOrder]) -> dict[str, bool]:
    imaging = any(o.spec.category == "imaging" for o in orders)
    referral = any(o.spec.category == "referral" for o in orders)
    cancer = a.has("F3")
    return {
        "cancer": cancer, "noCancer": not cancer,
        "imaging": imaging, "noImaging": not imaging,
        "referral": referral, "noReferral": not referral,
    }


def _line(text: str, k: Knowledge) -> str:
    return k.cards.texts["actionLine"].format(text=text)


def _actions(a: Assessment, tier: str, k: Knowledge, orders: list[PlannedOrder]) -> list[str]:
    values, conditions = _action_values(a, orders, k), _conditions(a, orders)
    return [
        _line(action.text.format(**values), k)
        for action in k.cards.tiers[tier].actions
        if action.when is None or conditions[action.when]
    ]


def flag_count(a: Assessment, k: Knowledge) -> int:
    """How many flags a card lists (its length budget depends on it)."""
    return len(flag_features(a, k))


def render_detail(a: Assessment, tier: str, k: Knowledge) -> str:
    orders = planned_orders(a, tier, k)
    features = flag_features(a, k)
    notes, cited = _notes(a, tier, k)
    blocks = [
        "\n".join([*_actions(a, tier, k, orders), *(_line(note, k) for note in notes)]),
        "\n".join([k.cards.texts["evidenceHeading"], *_evidence_lines(a, features, k)]) if features else "",
        _not_evaluated(a, tier, k),
        _sources([*(ev for f in features for ev in a.findings[f].evidence), *cited], k),
    ]
    return "\n\n".join(block for block in blocks if block)


def render_card(a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str) -> Card:
    text = k.cards.tiers[tier]
    proposals = suggestions(a, tier, k, now, hook_instance)
    return Card(
        uuid=stable_uuid(hook_instance, tier),
        summary=text.summary,
        detail=render_detail(a, tier, k),
        indicator=text.indicator,
        source=Source(label=k.cards.source.label, url=k.cards.source.url),
        suggestions=proposals,
        selection_behavior="any" if proposals else None,
        override_reasons=[
            Coding(system=k.cards.override_reason_system, code=r.code, display=r.display)
            for r in k.cards.override_reasons
        ],
        links=[
            Link(label=k.cards.links[name].label, url=k.cards.links[name].url, type="absolute") for name in text.links
        ],
    )
