"""Findings -> one CDS Hooks Card a clinician reads in seconds.

Layout of ``detail`` (all wording in ``cards/cards.json``): the tier's action lines (what is suspected, what
to do by when), notes that change what is proposed, the evidence in plain words (what, when, value vs
threshold), "Not evaluated" only for signs that would change the tier, and a trailing "Sources" line with
the resource ids and codes. Every value taken from FHIR data passes through
:func:`service.markdown.escape_markdown` before it is filled into a template. The card uuid is uuid5 over
the hook instance and the tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from service.assessment import Assessment, decide
from service.cdshooks.models import Card, Link, Source
from service.knowledge import Knowledge
from service.knowledge.templates import placeholders
from service.markdown import escape_markdown as md
from service.orders import (
    PlannedOrder,
    due_phrase,
    mri_region,
    planned_orders,
    proposals,
    stable_uuid,
    suggestion_wire,
    suggestions,
    tier_mri,
)
from service.rules.base import Evidence

MODIFIERS = ("F10",)  # findings that are never listed as flags (they change the orders, not the tier)
_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://www.ama-assn.org/go/cpt": "CPT",  # the code only: CPT descriptors are licensed, never shown
}
_OPERATORS = (("<=", "≤"), (">=", "≥"))


def _plain(threshold: str) -> str:
    for ascii_op, symbol in _OPERATORS:
        threshold = threshold.replace(ascii_op, symbol)
    return threshold


_LEFT_OUT = frozenset(MODIFIERS)


def flag_features(a: Assessment, k: Knowledge) -> list[str]:
    """Present features in the layout's order (unknown new features after them), modifiers left out.

    The order itself depends on the layout and the feature names only: it is kept by ``k.card_parts``.
    """
    findings = a.findings
    order = k.card_parts.flag_order(tuple(findings), k.cards.layout.flag_order, _LEFT_OUT)
    return [f for f in order if findings[f].present]


@lru_cache(maxsize=64)
def _names(template: str) -> frozenset[str]:
    """The placeholders ``template`` names (keyed by the knowledge's templates, never by patient data)."""
    return frozenset(placeholders(template))


def _evidence_text(feature: str, ev: Evidence, k: Knowledge) -> str:
    """One evidence line's text; only the values its template names are built (each escapes FHIR text)."""
    texts = k.cards.texts
    template = k.cards.evidence_by_flag.get(feature, texts["evidence"])
    names = _names(template)
    values: dict[str, str] = {}
    date = ev.date.iso_day() if ev.date else None
    if "what" in names:
        values["what"] = md(_plain(ev.what))
    if "date" in names:
        values["date"] = date or "no date"
    if "since" in names:
        values["since"] = f"since {date}" if date else "undated"
    if names & {"observed", "threshold", "measured"}:
        observed = md(ev.observed) if ev.observed else ""
        threshold = md(_plain(ev.threshold)) if ev.threshold else "-"
        values["observed"] = observed
        values["threshold"] = threshold
        values["measured"] = texts["measured"].format(observed=observed, threshold=threshold) if observed else ""
    if "fromText" in names:
        if ev.from_note:  # item 30: a text finding names its note's date and the sentence
            values["fromText"] = texts["fromNote"].format(
                date=date or "no date", sentence=md(ev.text_match or "", limit=120)
            )
        else:
            values["fromText"] = texts["fromText"].format(match=md(ev.text_match, limit=120)) if ev.text_match else ""
    return template.format(**values)


def _evidence_lines(a: Assessment, features: list[str], k: Knowledge) -> list[str]:
    texts, lines = k.cards.texts, []
    for feature in features:
        label = k.cards.flag_labels.get(feature, feature)
        for ev in a.findings[feature].evidence:
            if ev.source_only:
                continue
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
    findings = {**a.findings, feature: finding._replace(present=True)}
    signs = k.config.red_flag_signs
    what_if = a._replace(
        findings=findings,
        strong=tuple(f for f in signs.strong if findings[f].present),
        weak=tuple(f for f in signs.weak if findings[f].present),
    )
    return decide(what_if, k.config.tiers, k) != tier


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
    for ref, why in a.facts.unread_notes:  # clinical notes whose text could not be read (item 30)
        kind = why.partition(":")[2]
        reason = k.cards.reasons["note-type" if kind else "note-unreadable"].format(what=md(kind), days=None)
        label = k.cards.texts["noteLabel"].format(ref=md(ref))
        items.append(k.cards.texts["notEvaluatedItem"].format(label=label, reason=reason))
    return k.cards.texts["notEvaluated"].format(items="; ".join(items)) if items else ""


def _day(ev: Evidence) -> str:
    return ev.date.iso_day() if ev.date else "no date"


def _mri_notes(a: Assessment, tier: str, k: Knowledge, now: datetime) -> tuple[list[str], list[Evidence]]:
    """Item 26 wording: done (review it), ordered but not done, or done for another region."""
    texts, names, plan = k.cards.texts, k.cards.region_names, k.orders.plans.get(tier)
    if plan is None or not plan.mri:
        return [], []
    verdict, region = tier_mri(a, tier, k, now), names[mri_region(a, tier)]
    if verdict.suppressed_by is not None:
        return [texts["mriDone"].format(date=_day(verdict.suppressed_by))], [verdict.suppressed_by]
    notes, cited = [], []
    if verdict.partial is not None:
        covered = [names[r] for r in ("lumbar", "thoracic", "cervical") if r in verdict.partial.regions]
        notes.append(
            texts["mriPartial"].format(
                date=_day(verdict.partial.evidence), covered=" and ".join(covered) or names["unspecified"],
                region=region,
            )
        )
        cited.append(verdict.partial.evidence)
    if verdict.pending is not None:
        deadline = due_phrase(plan.deadline_hours, k)
        notes.append(texts["mriPending"].format(date=_day(verdict.pending), region=region, deadline=deadline))
        cited.append(verdict.pending)
    return notes, cited


def _notes(a: Assessment, tier: str, k: Knowledge, now: datetime) -> tuple[list[str], list[Evidence]]:
    """Lines that change what is proposed or why (MRI, pregnancy, cancer dates, C3R sign) and their sources."""
    texts, notes, cited = k.cards.texts, [], []
    if tier == "C2" and a.cancer.high_risk is not None:
        notes.append(texts["highRiskCancer"])
        cited.append(a.cancer.high_risk)
    if tier == "C2" and a.cancer.new_since_cancer:
        undated = a.cancer.undated or a.cancer.earliest is None or any(c.date is None for c in a.back_pain.conditions)
        if undated or a.cancer.earliest is None:
            notes.append(texts["newSinceUndatedCancer"])
        else:
            notes.append(texts["newSinceCancer"].format(date=a.cancer.earliest.iso_day()))
    if tier == "C2" and a.back_pain.thoracic_or_neck is not None:
        notes.append(texts["thoracicOrNeckPain"])
        cited.append(a.back_pain.thoracic_or_neck)
    mri_notes, mri_cited = _mri_notes(a, tier, k, now)
    notes += mri_notes
    cited += mri_cited
    if a.back_pain.pregnancy is not None and tier in ("C1", "C1M", "C2", "C3"):
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


def render_detail(
    a: Assessment, tier: str, k: Knowledge, now: datetime, orders: list[PlannedOrder] | None = None
) -> str:
    """The card's ``detail``; ``orders`` are the tier's :func:`planned_orders` when the caller has them."""
    text = k.cards.tiers[tier]
    orders = planned_orders(a, tier, k, now) if orders is None else orders
    features = flag_features(a, k)
    notes, cited = _notes(a, tier, k, now)
    blocks = [
        "\n".join([*_actions(a, tier, k, orders), *(_line(note, k) for note in notes)]),
        k.card_parts.tiers[tier].questions,  # the heading and the tier's questions, built at knowledge load
        "\n".join([k.cards.texts["evidenceHeading"], *_evidence_lines(a, features, k)]) if features else "",
        _not_evaluated(a, tier, k),
        text.closing or "",
        _sources([*(ev for f in features for ev in a.findings[f].evidence), *cited], k),
    ]
    return "\n\n".join(block for block in blocks if block)


def render_wire(a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str) -> dict[str, Any]:
    """The card as its wire JSON object, members in :class:`Card` order and none left at its default.

    The fast path: no wire model is built, the tier's constant parts come ready from ``k.card_parts`` and
    the response is serialised with orjson. :func:`render_card` is the reference it must equal (a test
    compares both on every fixture case).
    """
    parts = k.card_parts.tiers[tier]
    planned = planned_orders(a, tier, k, now)  # once, for the detail's action lines and the suggestions
    found = proposals(a, tier, k, now, hook_instance, planned)
    card: dict[str, Any] = {
        "uuid": stable_uuid(hook_instance, tier),
        "summary": parts.summary,
        "detail": render_detail(a, tier, k, now, planned),
        "indicator": parts.indicator,
        "source": parts.source,
    }
    if found:
        card["suggestions"] = [suggestion_wire(p) for p in found]
        card["selectionBehavior"] = "any"
    links = parts.cancer_links if a.has("F3") else parts.links
    if parts.override_reasons:
        card["overrideReasons"] = list(parts.override_reasons)
    if links:
        card["links"] = list(links)
    return card


def render_card(a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str) -> Card:
    """The card as wire models, built member by member: the reference path (tests, and what the fast one equals)."""
    text = k.cards.tiers[tier]
    proposals = suggestions(a, tier, k, now, hook_instance)
    links = list(text.links)
    if a.has("F3"):
        links += [link for link in text.cancer_links if link not in links]
    return Card(
        uuid=stable_uuid(hook_instance, tier),
        summary=text.summary,
        detail=render_detail(a, tier, k, now),
        indicator=text.indicator,
        source=Source(label=k.cards.source.label, url=k.cards.source.url),
        suggestions=proposals,
        selection_behavior="any" if proposals else None,
        override_reasons=k.feedback.override_reasons(k.service.hook, tier),
        links=[
            Link(label=k.cards.links[name].label, url=k.cards.links[name].url, type="absolute") for name in links
        ],
    )
