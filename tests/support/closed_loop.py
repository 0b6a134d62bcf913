"""Helpers for the closed-loop tests: a clock the test moves, fixture cases re-pointed at one patient."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.fixtures_catalog import Case, group_resources, list_cases
from service.knowledge.service_spec import ServiceSpec

# What the no-clear-identifier test looks for in every stored value.
FAMILY, GIVEN = "Quillfeather", "Ondine"


@dataclass
class MovingClock:
    """The service's clock (``create_app(clock=...)``), set and moved by the test."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def case_for(tier: str) -> Case:
    """The first positive fixture case of ``tier`` without site overrides."""
    return next(c for c in list_cases() if c.tier == tier and c.expect == "in" and not c.config_overrides)


def hook_body(case: Case, spec: ServiceSpec, patient_id: str, now: datetime, hook_instance: str) -> dict[str, Any]:
    """A patient-view request with ``case``'s data dated as if today were ``now``, about ``patient_id``.

    The Patient gets a name so the tests can look for it in the database.
    """
    text = json.dumps(case.resources_as_of(now.date())).replace(case.patient_id, patient_id)
    resources = json.loads(text)
    for resource in resources:
        if resource["resourceType"] == "Patient":
            resource["name"] = [{"family": FAMILY, "given": [GIVEN]}]
    prefetch: dict[str, Any] = {}
    for key, items in group_resources(resources, spec).items():
        if "?" not in spec.prefetch[key].query:
            prefetch[key] = items[0] if items else None
        else:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(items),
                             "entry": [{"resource": r} for r in items]}
    return {
        "hook": "patient-view",
        "hookInstance": hook_instance,
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
        "prefetch": prefetch,
    }


def order_case(name: str) -> Case:
    """An order-hook fixture case (``context.json``) by name."""
    return next(c for c in list_cases() if c.name == name and c.order_context is not None)


def order_body(case: Case, spec: ServiceSpec, patient_id: str, now: datetime, hook_instance: str) -> dict[str, Any]:
    """The order-hook request of ``case`` (its hook, drafts and selections) dated and re-pointed as
    :func:`hook_body` does."""
    assert case.order_context is not None
    body = hook_body(case, spec, patient_id, now, hook_instance)
    context = json.loads(json.dumps(case.order_context["context"]).replace(case.patient_id, patient_id))
    return {**body, "hook": case.order_context["hook"], "context": context}


def override(card: dict[str, Any], code: str | None, at: datetime, system: str | None = None) -> dict[str, Any]:
    """An ``overridden`` feedback item for ``card`` with the card's own reason ``code``."""
    item: dict[str, Any] = {"card": card["uuid"], "outcome": "overridden",
                            "outcomeTimestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if code is not None:
        reason = next((r for r in card["overrideReasons"] if r["code"] == code), None)
        coding = dict(reason) if reason else {"code": code, "system": system or "https://example.org/r"}
        if system is not None:
            coding["system"] = system
        item["overrideReason"] = {"reason": coding}
    return item


def accept(card: dict[str, Any], at: datetime, kinds: int | None = None) -> dict[str, Any]:
    """An ``accepted`` item taking the first ``kinds`` suggestions (all when None)."""
    chosen = card["suggestions"][: kinds if kinds is not None else len(card["suggestions"])]
    return {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "acceptedSuggestions": [{"id": s["uuid"]} for s in chosen]}


_CATEGORY = {"3457005": "referral", "108252007": "bloods"}


def kind_of(suggestion: dict[str, Any]) -> str:
    """The kind of a suggestion read from its ServiceRequest (category, then label), independently of cards/."""
    resource = suggestion["actions"][0]["resource"]
    category = resource["category"][0]["coding"][0]["code"]
    if category in _CATEGORY:
        return _CATEGORY[category]
    label = resource["code"]["text"]
    return "mri" if label.startswith("MRI") else "ct" if label.startswith("CT") else "other"


def issued_rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of the card record, oldest first, read through an engine of its own."""
    from sqlalchemy import select

    from service.storage.db import make_engine
    from service.storage.schema import issued_card

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(issued_card).order_by(issued_card.c.id))]
    finally:
        engine.dispose()
