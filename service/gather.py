"""Turns a request's prefetch into a PatientRecord.

Minimal version (prefetch only); the full resolution with FHIR callbacks (issue 4) replaces it.
"""

from __future__ import annotations

from typing import Any

from service.cdshooks.models import HookRequest
from service.errors import RequiredDataUnavailable
from service.knowledge.service_spec import ServiceSpec
from service.record import PatientRecord, Resource
from service.settings import Settings


def _unwrap(value: Any, resource_type: str) -> list[Resource] | None:
    if value is None:
        return []
    if not isinstance(value, dict):
        return None
    if value.get("resourceType") == resource_type:
        return [value]
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry") or []
        out: list[Resource] = [
            e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
        if any(r.get("resourceType") == "OperationOutcome" for r in out):
            return None
        return [r for r in out if r.get("resourceType") == resource_type]
    return None


async def gather(request: HookRequest, spec: ServiceSpec, settings: Settings, client: Any = None) -> PatientRecord:
    del settings, client
    prefetch = request.prefetch or {}
    resources: dict[str, list[Resource]] = {}
    unavailable: set[str] = set()
    for key, template in spec.prefetch.items():
        got = _unwrap(prefetch[key], template.resource_type) if key in prefetch else None
        if got is None:
            unavailable.add(key)
        else:
            resources[key] = got
    missing_required = sorted(unavailable & spec.required_keys)
    if missing_required:
        raise RequiredDataUnavailable("required data could not be obtained: " + ", ".join(missing_required))
    return PatientRecord(request.context.patient_id, resources, frozenset(unavailable))
