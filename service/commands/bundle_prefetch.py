"""A complete prefetch built from a patient Bundle, as an EHR would send it for our templates.

Only the search parameters our templates use are understood (``patient``, ``code``, the result
controls ``_count``/``_sort`` and ``_include`` of a medication, answered as a server would, with
``search.mode: include`` entries); anything else is refused rather than silently over-matching.
Transaction and Synthea exports refer to each other by ``urn:uuid:`` fullUrls: :func:`resolve_references`
rewrites those to ``Type/id``, as a FHIR server does when it stores such a Bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.cdshooks.models import PatientViewContext
from service.fhir.query import FhirQuery, render
from service.knowledge.service_spec import ServiceSpec
from service.record import Resource

_IGNORED = {"_count", "_sort", "_include"}


def _reference(resource: Resource) -> str | None:
    for field in ("subject", "patient"):
        value = resource.get(field)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            ref: str = value["reference"]
            return ref
    return None


def _has_code(resource: Resource, tokens: str) -> bool:
    wanted = {tuple(t.split("|", 1)) if "|" in t else ("", t) for t in tokens.split(",")}
    for coding in (resource.get("code") or {}).get("coding") or ():
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
        if name == "code" and not _has_code(resource, value):
            return False
        if name not in {"patient", "code"} | _IGNORED:
            raise ValueError(f"search parameter {name!r} is not supported for bundle prefetch")
    return True


def resolve_references(bundle: Mapping[str, Any]) -> list[Resource]:
    """The Bundle's resources with every ``urn:uuid:``/``urn:oid:`` reference to an entry as ``Type/id``."""
    entries = [e for e in bundle.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    targets = {
        e["fullUrl"]: f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
        for e in entries
        if isinstance(e.get("fullUrl"), str) and e["fullUrl"].startswith("urn:") and e["resource"].get("id")
    }

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: rewrite(v) for k, v in value.items()}
            if isinstance(out.get("reference"), str) and out["reference"] in targets:
                out["reference"] = targets[out["reference"]]
            return out
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    return [rewrite(e["resource"]) for e in entries] if targets else [e["resource"] for e in entries]


def included_medications(found: Sequence[Resource], resources: Sequence[Resource]) -> list[Resource]:
    """The Medications of ``resources`` that ``found`` refers to, as ``_include=...:medication`` adds them."""
    medications = {f"Medication/{r.get('id')}": r for r in resources if r.get("resourceType") == "Medication"}
    out: dict[str, Resource] = {}
    for resource in found:
        reference = resource.get("medicationReference")
        ref = reference.get("reference") if isinstance(reference, dict) else None
        if isinstance(ref, str) and ref in medications:
            out.setdefault(ref, medications[ref])
    return list(out.values())


def searchset(found: Sequence[Resource], included: Sequence[Resource] = ()) -> dict[str, Any]:
    """A searchset Bundle of ``found`` (matches) and ``included`` (``search.mode: include``)."""
    entries: list[dict[str, Any]] = [{"resource": r} for r in found]
    entries += [{"resource": r, "search": {"mode": "include"}} for r in included]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries}


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
            wants_medication = any(name == "_include" for name, _ in query.params)
            prefetch[key] = searchset(found, included_medications(found, resources) if wants_medication else ())
    return prefetch
