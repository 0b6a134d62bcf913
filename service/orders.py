"""Draft ServiceRequest proposals for a tier (CLINICAL_RULES.md §2.3, Readings 15, 16, 21).

Every proposal: status draft, intent proposal, the category and priority of its plan, ``subject``,
``reasonReference`` to the back-pain Conditions plus the cancer/neurological resources that drove the tier,
and ``occurrencePeriod.end`` at T + the plan's deadline (UTC).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.assessment import Assessment
from service.cdshooks.models import Action, Suggestion
from service.knowledge import Knowledge
from service.knowledge.templates import OrderSpec, PlanSpec

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
    if tier in ("C1", "C2"):
        refs += [c.ref for c in a.cancer.conditions]
    return [{"reference": ref} for ref in dict.fromkeys(refs)]


def _names(a: Assessment, tier: str, plan: PlanSpec, k: Knowledge) -> list[str]:
    names: list[str] = []
    suppressed = a.mri.within_critical if tier == "C1" else (a.mri.finding.evidence or None)
    region = a.back_pain.region if tier == "C3" else "whole"
    pregnant = a.back_pain.pregnancy is not None
    if not suppressed:
        names.append((plan.pregnancy_mri if pregnant else plan.mri)[region])
        if plan.ct and not pregnant:
            names.append(plan.ct[region])
    if plan.site_referral:
        names.append(k.config.c1_referral if plan.site_referral == "c1Referral" else k.config.c3_referral)
    names += plan.referrals
    if a.has("F3"):
        names += plan.cancer_referrals
    return list(dict.fromkeys(names))


def _resource(
    a: Assessment, tier: str, order: OrderSpec, priority: str, end: str, k: Knowledge
) -> dict[str, Any]:
    category = k.orders.categories[order.category]
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "category": [
            {"coding": [{"system": category.system, "code": category.code, "display": category.display}]}
        ],
        "priority": priority,
        "code": {
            "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in order.codings],
            "text": order.label,
        },
        "subject": {"reference": a.facts.patient_ref},
        "occurrencePeriod": {"end": end},
        "reasonReference": _reasons(a, tier),
    }


def due_phrase(hours: int, k: Knowledge) -> str:
    """The deadline relative to now as the card says it: "within 4 hours", "within 1 week", "within 3 days"."""
    phrases = k.cards.deadline_phrases
    if hours % 168 == 0:
        weeks = hours // 168
        return phrases["week"] if weeks == 1 else phrases["weeks"].format(n=weeks)
    if hours <= 24 or hours % 24:
        return phrases["hour"] if hours == 1 else phrases["hours"].format(n=hours)
    return phrases["days"].format(n=hours // 24)


@dataclass(frozen=True)
class PlannedOrder:
    """One order of a tier's plan with its own deadline (hours after T)."""

    name: str
    spec: OrderSpec
    hours: int


def planned_orders(a: Assessment, tier: str, k: Knowledge) -> list[PlannedOrder]:
    """The orders a card proposes, in suggestion order, each with the deadline its label and resource share."""
    plan = k.orders.plans.get(tier)
    if plan is None:
        return []
    return [
        PlannedOrder(name, k.orders.orders[name], plan.order_deadline_hours.get(name, plan.deadline_hours))
        for name in _names(a, tier, plan, k)
    ]


def suggestions(
    a: Assessment, tier: str, k: Knowledge, now: datetime, hook_instance: str
) -> list[Suggestion]:
    plan = k.orders.plans.get(tier)
    if plan is None:
        return []
    out = []
    for planned in planned_orders(a, tier, k):
        order = planned.spec
        deadline = (now + timedelta(hours=planned.hours)).astimezone(UTC)
        end = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        priority = plan.imaging_priority if order.category == "imaging" else plan.referral_priority
        label = k.cards.suggestion_labels[order.category].format(
            label=order.label, due=due_phrase(planned.hours, k), deadline=deadline.date().isoformat()
        )
        action = Action(
            type="create", description=order.label, resource=_resource(a, tier, order, priority, end, k)
        )
        out.append(Suggestion(label=label, uuid=stable_uuid(hook_instance, tier, planned.name), actions=[action]))
    return out
