"""A complete prefetch built from a patient Bundle, as an EHR would send it for our templates.

Only the search parameters our templates use are understood (``patient``, ``code``, ``category`` and the result
controls ``_count``/``_sort``); anything else is refused rather than silently over-matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.cdshooks.models import PatientViewContext
from service.fhir.query import FhirQuery, render
from service.knowledge.service_spec import ServiceSpec
from service.record import Resource

_IGNORED = {"_count", "_sort"}


def _reference(resource: Resource) -> str | None:
    for field in ("subject", "patient"):
        value = resource.get(field)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            ref: str = value["reference"]
            return ref
    return None


def _has_code(resource: Resource, tokens: str, field: str = "code") -> bool:
    wanted = {tuple(t.split("|", 1)) if "|" in t else ("", t) for t in tokens.split(",")}
    value = resource.get(field)
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        for coding in (concept if isinstance(concept, dict) else {}).get("coding") or ():
            system, code = coding.get("system", ""), coding.get("code")
            if (system, code) in wanted or ("", code) in wanted:
                return True
    return False


def matches(resource: Resource, query: FhirQuery) -> bool:
    """Whether a FHIR server would return ``resource`` for ``query``."""
    if resource.get("resourceType") != query.resource_type:
        return False
    if query.is_read:
        return resource.get("id") == query.id
    for name, value in query.params:
        if name == "patient" and _reference(resource) != value:
            return False
        if name in ("code", "category") and not _has_code(resource, value, name):
            return False
        if name not in {"patient", "code", "category"} | _IGNORED:
            raise ValueError(f"search parameter {name!r} is not supported for bundle prefetch")
    return True


def prefetch_from_bundle(
    resources: Sequence[Resource], spec: ServiceSpec, context: PatientViewContext
) -> dict[str, Any]:
    """Every prefetch key filled: reads as the resource or ``null``, searches as searchset Bundles."""
    prefetch: dict[str, Any] = {}
    for key, item in spec.prefetch.items():
        query = render(item.query, context)
        found = [r for r in resources if matches(r, query)]
        if query.is_read:
            prefetch[key] = found[0] if found else None
        else:
            entries = [{"resource": r} for r in found]
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries}
    return prefetch
