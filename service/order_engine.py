"""The order hooks' decisions about draft spine imaging (``cards/order-decisions.json``), pure.

The patient's tier comes from the same assessment as the chart card; the MRI a red-flag tier needs is the MRI
that tier's plan proposes (``service.orders.suggestions``), so the two services never disagree. Each draft
ServiceRequest in scope gets the first decision row that matches it, a PAMA rating as an ``update`` system
action, and, when the row says so, a card. Card text never contains strings from the request or the record:
studies are named with ``studyNames``, flags with ``flagLabels``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from service.assessment import Assessment, assess, decide
from service.cdshooks.models import Action, Card, Link, Source, Suggestion
from service.facts import build_facts
from service.fhir.dates import days_between
from service.knowledge import Knowledge
from service.knowledge.imaging import DecisionRow, Study
from service.orders import stable_uuid, suggestions
from service.record import PatientRecord
from service.rules.base import days_text

log = structlog.get_logger("service.order_engine")

# Present findings that are not red flags: back pain itself, persistence, the age modifier, a recent MRI.
NOT_RED_FLAGS = frozenset({"F1", "F2", "F9", "F10"})
# What may be present for "no red flag, no cancer" (early imaging): any other finding is a flag or cancer.
EARLY_ALLOWED = frozenset({"F1", "F9", "F10"})
_OCCURRENCE = ("occurrenceDateTime", "occurrencePeriod", "occurrenceTiming")
Resource = Mapping[str, Any]


@dataclass(frozen=True)
class NeededMri:
    """The MRI a red-flag tier's plan proposes: its study, its draft resource and its label."""

    study: Study
    resource: Mapping[str, Any]
    label: str


@dataclass(frozen=True)
class DraftDecision:
    """What was decided for one draft (for tests and the log line; no patient data)."""

    ref: str
    decision: str
    rating: str
    study: Study | None


@dataclass(frozen=True)
class OrderEvaluation:
    cards: list[Card] = field(default_factory=list)
    system_actions: list[Action] = field(default_factory=list)
    decisions: tuple[DraftDecision, ...] = ()
    tier: str | None = None


def patient_situation(a: Assessment, tier: str | None, k: Knowledge, now: datetime) -> str:
    """``red-flag`` (a tier of ``redFlagTiers``), ``early-no-red-flag`` or ``other``."""
    d = k.order.decisions
    if tier in d.red_flag_tiers:
        return "red-flag"
    start = a.back_pain.episode_start
    early = (
        a.in_scope
        and a.has("F1")
        and a.flags <= EARLY_ALLOWED
        and not a.red_flag
        and start is not None
        and days_between(start, now) < d.early_imaging.within_days
    )
    return "early-no-red-flag" if early else "other"


def needed_mri(a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str) -> NeededMri | None:
    """The first MRI the tier's plan proposes; None when it proposes none (e.g. a recent MRI covers it)."""
    for suggestion in suggestions(a, tier, k, now, hook_instance):
        for action in suggestion.actions:
            resource = action.resource or {}
            study = k.order.imaging.of_concept(resource.get("code"))
            if study is not None and study.modality == "MRI":
                return NeededMri(study, resource, action.description)
    return None


def draft_tags(study: Study | None, situation: str, needed: NeededMri | None, k: Knowledge) -> frozenset[str]:
    """The facts about one draft that decision rows test (``when.draft``)."""
    if study is None:
        return frozenset()
    tags = {"spine-imaging"}
    if situation == "red-flag":
        if needed is None:
            tags.add("no-mri-proposed")
        elif study.modality == "MRI" and study.region in k.order.decisions.covering(needed.study.region):
            tags.add("covers-need")
        else:
            tags.add("misses-need")
    return frozenset(tags)


def first_row(rows: Sequence[DecisionRow], situation: str, tags: frozenset[str]) -> DecisionRow:
    for row in rows:
        if row.when.patient not in (None, situation):
            continue
        if row.when.draft is not None and row.when.draft not in tags:
            continue
        return row
    raise LookupError("no decision row matched")  # the loader guarantees an unconditional last row


def _pruned(value: Any) -> Any:
    """A copy without null or empty members: FHIR JSON forbids them and so does CDS Hooks (A2), so dropping
    them from an echoed resource changes nothing it means."""
    if isinstance(value, Mapping):
        items = ((key, _pruned(item)) for key, item in value.items())
        return {key: item for key, item in items if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [item for item in map(_pruned, value) if item not in (None, "", [], {})]
    return copy.deepcopy(value)


def _with_rating(resource: Resource, rating: str, consult: str, k: Knowledge) -> dict[str, Any]:
    """``resource`` in its entirety (an update replaces it) with our rating and consult id attached."""
    spec = k.order.decisions.rating
    out: dict[str, Any] = _pruned(resource)
    ours = {spec.extension, spec.consult_id_extension}
    existing = out.get("extension")
    kept: list[Any] = []
    if isinstance(existing, list):
        kept = [e for e in existing if isinstance(e, dict) and e.get("url") not in ours]
    out["extension"] = [
        *kept,
        {"url": spec.extension, "valueCodeableConcept": {"coding": [{"system": spec.system, "code": rating}]}},
        {"url": spec.consult_id_extension, "valueUri": f"urn:uuid:{consult}"},
    ]
    return out


def rating_action(draft: Resource, ref: str, rating: str, k: Knowledge, hook_instance: str) -> Action:
    resource = _with_rating(draft, rating, stable_uuid(hook_instance, "pama", ref), k)
    description = k.order.decisions.rating.description.format(rating=rating)
    return Action(type="update", description=description, resource=resource)


def _updated_draft(
    draft: Resource, ref: str, needed: NeededMri, rating: str, k: Knowledge, hook: str
) -> dict[str, Any]:
    """The same draft (same id) turned into the needed MRI with the tier's priority and deadline."""
    out: dict[str, Any] = _pruned(draft)
    out["code"] = copy.deepcopy(dict(needed.resource["code"]))
    out["priority"] = needed.resource["priority"]
    for key in _OCCURRENCE:
        out.pop(key, None)
    out["occurrencePeriod"] = copy.deepcopy(dict(needed.resource["occurrencePeriod"]))
    if not out.get("category") and needed.resource.get("category"):  # an imaging order, coded as ours are
        out["category"] = copy.deepcopy(list(needed.resource["category"]))
    if not out.get("reasonReference") and needed.resource.get("reasonReference"):
        out["reasonReference"] = copy.deepcopy(list(needed.resource["reasonReference"]))
    return _with_rating(out, rating, stable_uuid(hook, "pama", ref, "suggested"), k)


def _flag_labels(a: Assessment, k: Knowledge) -> str:
    present = sorted(a.flags - NOT_RED_FLAGS, key=lambda f: int(f[1:]) if f[1:].isdigit() else 99)
    labels = [k.cards.flag_labels[f] for f in present if f in k.cards.flag_labels]
    return ", ".join(label.lower() if i else label for i, label in enumerate(labels)) or "see the chart card"


def _links(names: Sequence[str], k: Knowledge) -> list[Link]:
    known = [k.cards.links[n] for n in names if n in k.cards.links]
    return [Link(label=link.label, url=link.url, type="absolute") for link in known]


def mismatch_card(
    a: Assessment, tier: str, draft: Resource, ref: str, study: Study, needed: NeededMri,
    suggested_rating: str, row: DecisionRow, k: Knowledge, hook_instance: str, hook: str,
) -> Card:
    d, text = k.order.decisions, k.order.decisions.cards.mismatch
    tier_text = k.cards.tiers.get(tier)
    end = str(needed.resource["occurrencePeriod"]["end"])  # T + the tier's deadline, UTC, from orders.py
    deadline = f"{end[:10]} {end[11:16]} UTC" if len(end) >= 16 else end
    fill = {
        "lead": d.red_flag_tiers[tier].lead,
        "needed": needed.label,
        "ordered": d.study_names[study.modality][study.region],
        "tierSummary": tier_text.summary if tier_text else d.red_flag_tiers[tier].lead,
        "flags": _flag_labels(a, k),
        "priority": str(needed.resource["priority"]),
        "deadline": deadline,
        "neededRegion": d.region_names[needed.study.region],
    }
    fill["why"] = text.why["CT" if study.modality == "CT" else "MRI"].format(**fill)
    resource = _updated_draft(draft, ref, needed, suggested_rating, k, hook_instance)
    suggestion = Suggestion(
        label=text.suggestion_label.format(**fill),
        uuid=stable_uuid(hook_instance, "order", row.id, ref, "update"),
        is_recommended=True,
        actions=[Action(type="update", description=needed.label, resource=resource)],
    )
    return Card(
        uuid=stable_uuid(hook_instance, "order", row.id, ref),
        summary=text.summary.format(**fill),
        detail="\n".join(line.format(**fill) for line in text.detail),
        indicator=d.red_flag_tiers[tier].indicator,  # the schema allows info|warning|critical only
        source=Source(label=k.cards.source.label, url=k.cards.source.url),
        suggestions=[suggestion],
        selection_behavior="at-most-one",
        override_reasons=k.feedback.override_reasons(hook, tier, "mismatch"),  # cards/feedback.json
        links=_links(tier_text.links if tier_text else (), k),
    )


def early_card(
    a: Assessment, tier: str | None, study: Study, ref: str, row: DecisionRow, k: Knowledge, now: datetime,
    hook_instance: str, hook: str,
) -> Card:
    d, text = k.order.decisions, k.order.decisions.cards.early
    start = a.back_pain.episode_start
    fill = {
        "days": days_text(days_between(start, now)) if start else "an unknown time",
        "ordered": d.study_names[study.modality][study.region],
    }
    return Card(
        uuid=stable_uuid(hook_instance, "order", row.id, ref),
        summary=text.summary.format(**fill),
        detail="\n".join(line.format(**fill) for line in text.detail),
        indicator=text.indicator,  # the schema allows info|warning|critical only
        source=Source(label=k.cards.source.label, url=k.cards.source.url),
        override_reasons=k.feedback.override_reasons(hook, tier, "early"),  # cards/feedback.json
        links=_links(text.links, k),
    )


def _same_patient(draft: Resource, patient_id: str) -> bool:
    """A draft about another patient is never used; one without a subject is the patient in context."""
    subject = draft.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(reference, str):
        return subject is None
    return reference == f"Patient/{patient_id}" or reference.endswith(f"/Patient/{patient_id}")


def evaluate_orders(
    record: PatientRecord, drafts: Sequence[Resource], k: Knowledge, now: datetime, hook_instance: str, hook: str
) -> OrderEvaluation:
    """Decide about every ServiceRequest of ``drafts`` (the drafts in scope) at time ``now`` for ``hook``
    (order-select or order-sign: the cards' override reasons may differ by hook, ``cards/feedback.json``)."""
    types = {key: spec.resource_type for key, spec in k.service.prefetch.items()}
    facts = build_facts(record, types, now, k.relevance.keep)
    a = assess(facts, k, now)
    tier = decide(a, k.config.tiers, k)
    situation = patient_situation(a, tier, k, now)
    needed = needed_mri(a, tier, k, now, hook_instance) if situation == "red-flag" and tier else None
    rows = k.order.decisions.decisions
    cards: list[Card] = []
    actions: list[Action] = []
    decided: list[DraftDecision] = []
    skipped = 0
    for draft in drafts:
        if draft.get("resourceType") != "ServiceRequest":
            continue
        if not _same_patient(draft, record.patient_id):
            skipped += 1
            continue
        ref = f"ServiceRequest/{draft['id']}"
        study = k.order.imaging.of_concept(draft.get("code"))
        row = first_row(rows, situation, draft_tags(study, situation, needed, k))
        actions.append(rating_action(draft, ref, row.then.rating, k, hook_instance))
        decided.append(DraftDecision(ref, row.id, row.then.rating, study))
        if row.then.card == "mismatch" and tier and needed is not None and study is not None:
            covered = first_row(rows, situation, frozenset({"spine-imaging", "covers-need"}))
            cards.append(
                mismatch_card(a, tier, draft, ref, study, needed, covered.then.rating, row, k, hook_instance, hook)
            )
        elif row.then.card == "early" and study is not None:
            cards.append(early_card(a, tier, study, ref, row, k, now, hook_instance, hook))
    if skipped:
        log.warning("order.drafts_of_another_patient", hook_instance=hook_instance, count=skipped)
    return OrderEvaluation(cards, actions, tuple(decided), tier)
