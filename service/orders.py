"""Draft ServiceRequest proposals for a tier (CLINICAL_RULES.md §2.3, Readings 15, 16, 21; Revision 2 22-28).

Every proposal: status draft, intent proposal, the category and priority of its plan, ``subject``,
``reasonReference`` to the back-pain Conditions plus the cancer/neurological resources that drove the tier,
and ``occurrencePeriod.end`` at T + the plan's deadline (UTC; referrals may have their own deadline). The CT
alternative is marked ``isRecommended: false`` where the plan says so; the blood tests of item 28 are one
suggestion with one laboratory ServiceRequest per test.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from service.assessment import Assessment
from service.cdshooks.models import Action, Suggestion
from service.knowledge import Knowledge
from service.knowledge.templates import OrderSpec, PlanSpec
from service.rules.recent_mri import MriVerdict, mri_verdict

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://backpain-cds.example.org/cards")
_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def stable_uuid(hook_instance: str, *parts: str) -> str:
    """Deterministic per hook instance and rule (and order), so feedback can be matched to what was shown.

    The RFC 4122 name-based (SHA-1, version 5) UUID, equal to ``uuid.uuid5(NAMESPACE, name)`` (a test
    checks it), from a pre-hashed namespace and without building a ``uuid.UUID``: 1.0 instead of 3.5 µs.
    """
    digest = _NAMESPACE_SHA1.copy()
    digest.update("|".join((hook_instance, *parts)).encode())
    raw = bytearray(digest.digest()[:16])
    raw[6] = raw[6] & 0x0F | 0x50  # version 5
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    x = raw.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _reasons(a: Assessment, tier: str) -> list[dict[str, str]]:
    refs = [c.ref for c in a.back_pain.conditions]
    if tier == "C1":
        refs += [e.ref for e in a.findings["F4"].evidence]
    if tier == "C1M":
        refs += [e.ref for e in a.findings["F11"].evidence]
    if tier in ("C1", "C1M", "C2"):
        refs += [c.ref for c in a.cancer.conditions]
    return [{"reference": ref} for ref in dict.fromkeys(refs)]


def mri_region(a: Assessment, tier: str) -> str:
    """The region the tier's MRI covers: C3 the painful region; C1 lumbosacral for cauda equina signs only
    (whole spine with a cord-level sign, a cancer history, or thoracic/unspecified pain, item 22); else whole."""
    if tier == "C3":
        return a.back_pain.region
    if tier == "C1" and not a.neuro.cord and not a.has("F3") and a.back_pain.region == "lumbar":
        return "lumbar"
    return "whole"


def tier_mri(a: Assessment, tier: str, k: Knowledge, now: datetime) -> MriVerdict:
    """Item 26 for C1, C1M and C2; C3 keeps Readings 15/19 (any spine MRI in 30 days)."""
    if tier in ("C1", "C1M", "C2"):
        return mri_verdict(a.mri, k, now, mri_region(a, tier), critical=tier != "C2")
    return MriVerdict(suppressed_by=a.mri.finding.evidence[0] if a.mri.finding.evidence else None)


def _names(a: Assessment, tier: str, plan: PlanSpec, k: Knowledge, now: datetime) -> list[tuple[str, bool]]:
    """(order name, isRecommended) in the card's order: MRI, CT alternative, referrals."""
    names: list[tuple[str, bool]] = []
    region = mri_region(a, tier)
    pregnant = a.back_pain.pregnancy is not None
    if plan.mri and tier_mri(a, tier, k, now).suppressed_by is None:
        names.append(((plan.pregnancy_mri if pregnant else plan.mri)[region], True))
        if plan.ct and not pregnant:
            names.append((plan.ct[region], plan.ct_recommended))
    if plan.site_referral:
        names.append((k.config.c1_referral if plan.site_referral == "c1Referral" else k.config.c3_referral, True))
    names += [(n, True) for n in plan.referrals]
    if a.has("F3"):
        names += [(n, True) for n in plan.cancer_referrals]
    return list({name: (name, rec) for name, rec in reversed(names)}.values())[::-1]


def _lab_names(a: Assessment, plan: PlanSpec, k: Knowledge) -> list[str]:
    """Item 28: the base tests, plus PSA (men >= 50) and SPEP/free light chains (>= 60) by cards/config.json."""
    if plan.labs is None:
        return []
    names = list(plan.labs.tests)
    for rule_name, tests in plan.labs.conditional.items():
        rule = k.config.blood_tests.get(rule_name)
        if rule is None or a.age is None or a.age < rule.min_age:
            continue
        if rule.gender is not None and a.facts.gender != rule.gender:
            continue
        names += tests
    return list(dict.fromkeys(names))


def _resource(
    subject: dict[str, str], reasons: list[dict[str, str]], name: str, priority: str, end: str, k: Knowledge
) -> dict[str, Any]:
    """The draft ServiceRequest of order ``name``; its category and code come ready from ``k.card_parts``
    (read-only, shared by every card), subject and reasons once per card."""
    wire = k.card_parts.orders[name]
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "category": wire.category,
        "priority": priority,
        "code": wire.code,
        "subject": subject,
        "occurrencePeriod": {"end": end},
        "reasonReference": reasons,
    }


def deadline_of(now: datetime, hours: int) -> datetime:
    return (now + timedelta(hours=hours)).astimezone(UTC)


def _when(deadline: datetime) -> str:
    """``deadline`` (UTC) as ``%Y-%m-%dT%H:%M:%SZ``; isoformat is ~3x cheaper than strftime (a test checks
    both agree)."""
    return deadline.isoformat(timespec="seconds")[:19] + "Z"


def _deadline_texts(now: datetime, hours: int, k: Knowledge) -> tuple[str, str, str]:
    """The due phrase, the deadline's day and its dateTime (occurrencePeriod.end) for ``hours`` after T."""
    deadline = deadline_of(now, hours)
    return due_phrase(hours, k), deadline.date().isoformat(), _when(deadline)


def due_phrase(hours: int, k: Knowledge) -> str:
    """The deadline relative to now as the card says it: "within 4 hours", "within 1 week", "within 3 days"."""
    phrases = k.cards.deadline_phrases
    if hours % 168 == 0:
        weeks = hours // 168
        return phrases["week"] if weeks == 1 else phrases["weeks"].format(n=weeks)
    if hours <= 24 or hours % 24:
        return phrases["hour"] if hours == 1 else phrases["hours"].format(n=hours)
    return phrases["days"].format(n=hours // 24)


class PlannedOrder(NamedTuple):
    """One order of a tier's plan with its own deadline (hours after T), shared by its label and resource."""

    name: str
    spec: OrderSpec
    hours: int
    recommended: bool = True


def _hours(plan: PlanSpec, name: str, order: OrderSpec) -> int:
    if name in plan.order_deadline_hours:
        return plan.order_deadline_hours[name]
    if order.category == "imaging":
        return plan.deadline_hours
    return plan.referral_deadline_hours or plan.deadline_hours


def planned_orders(a: Assessment, tier: str, k: Knowledge, now: datetime) -> list[PlannedOrder]:
    """The imaging and referral orders a card proposes, in suggestion order, each with its deadline."""
    plan = k.orders.plans.get(tier)
    if plan is None:
        return []
    out = []
    for name, recommended in _names(a, tier, plan, k, now):
        order = k.orders.orders[name]
        out.append(PlannedOrder(name, order, _hours(plan, name, order), recommended))
    return out


class Proposal(NamedTuple):
    """One suggestion of a card as plain data: label, uuid, ``isRecommended`` and its (description, resource)s."""

    label: str
    uuid: str
    recommended: bool | None
    actions: list[tuple[str, dict[str, Any]]]


def proposals(
    a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str,
    planned_list: list[PlannedOrder] | None = None,
) -> list[Proposal]:
    """What a card of ``tier`` proposes, in suggestion order: the plan's orders, then the blood tests.

    ``planned_list`` is :func:`planned_orders` of the same arguments when the caller already has it.
    """
    plan = k.orders.plans.get(tier)
    if plan is None:
        return []
    out = []
    subject, reasons = {"reference": a.facts.patient_ref}, _reasons(a, tier)
    deadlines: dict[int, tuple[str, str, str]] = {}  # a plan's orders share a few deadlines: each once
    for planned in planned_orders(a, tier, k, now) if planned_list is None else planned_list:
        order = planned.spec
        imaging = order.category == "imaging"
        priority = plan.imaging_priority if imaging else plan.referral_priority
        due, day, end = deadlines.get(planned.hours) or deadlines.setdefault(
            planned.hours, _deadline_texts(now, planned.hours, k)
        )
        label = k.cards.suggestion_labels[order.category].format(label=order.label, due=due, deadline=day)
        resource = _resource(subject, reasons, planned.name, priority, end, k)
        out.append(Proposal(label, stable_uuid(hook_instance, tier, planned.name),
                            None if planned.recommended else False, [(order.label, resource)]))
    labs = _lab_names(a, plan, k)
    if labs and plan.labs is not None:
        deadline = deadline_of(now, plan.labs.deadline_hours)
        when = _when(deadline)
        orders = [k.orders.orders[name] for name in labs]
        label = k.cards.suggestion_labels["laboratory"].format(
            label=", ".join(o.label for o in orders),
            due=due_phrase(plan.labs.deadline_hours, k),
            deadline=deadline.date().isoformat(),
        )
        actions = [
            (o.label, _resource(subject, reasons, name, plan.labs.priority, when, k))
            for name, o in zip(labs, orders, strict=True)
        ]
        out.append(Proposal(label, stable_uuid(hook_instance, tier, "blood-tests"), None, actions))
    return out


def suggestions(
    a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str
) -> list[Suggestion]:
    """:func:`proposals` as wire models (the reference path, and the order hooks)."""
    return [
        Suggestion(
            label=p.label,
            uuid=p.uuid,
            is_recommended=p.recommended,
            actions=[Action(type="create", description=d, resource=r) for d, r in p.actions],
        )
        for p in proposals(a, tier, k, now, hook_instance)
    ]


def suggestion_wire(proposal: Proposal) -> dict[str, Any]:
    """One proposal as ``wire_json`` writes a :class:`Suggestion` (``isRecommended`` only when false)."""
    wire: dict[str, Any] = {"label": proposal.label, "uuid": proposal.uuid}
    if proposal.recommended is not None:
        wire["isRecommended"] = proposal.recommended
    if proposal.actions:
        wire["actions"] = [
            {"type": "create", "description": description, "resource": resource}
            for description, resource in proposal.actions
        ]
    return wire
