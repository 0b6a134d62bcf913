"""What a FHIR server would answer to each prefetch template of ``cards/service.json`` for one patient.

Only the resource type of each template and the ``code=`` filter of the observations template are
honoured; ``trim_round_robin`` cuts a patient down to a size while keeping every key represented.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from service.knowledge.service_spec import PrefetchSpec, ServiceSpec

Resource = dict[str, Any]


def template_codes(template: PrefetchSpec) -> set[str] | None:
    """``system|code`` tokens of the template's ``code=`` parameter, or ``None`` when it has none."""
    query = parse_qs(urlsplit(template.query).query)
    if "code" not in query:
        return None
    return {token for value in query["code"] for token in value.split(",") if token}


def matches_codes(resource: Resource, codes: set[str]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    return any(f"{c.get('system')}|{c.get('code')}" in codes for c in codings if isinstance(c, dict))


def group_by_key(resources: list[Resource], spec: ServiceSpec, *, code_filter: bool) -> dict[str, list[Resource]]:
    """Resources per prefetch key, in the order of the source Bundle (oldest first for Synthea)."""
    groups: dict[str, list[Resource]] = {}
    for key, template in spec.prefetch.items():
        codes = template_codes(template) if code_filter else None
        groups[key] = [r for r in resources if r.get("resourceType") == template.resource_type
                       and (codes is None or matches_codes(r, codes))]
    if len(groups.get("patient", [])) != 1:
        raise ValueError("a patient's data must hold exactly one Patient")
    return groups


def trim_round_robin(groups: dict[str, list[Resource]], limit: int) -> dict[str, list[Resource]]:
    """At most ``limit`` resources, taken one key at a time from the most recent, order kept."""
    total = sum(len(items) for items in groups.values())
    if total <= limit:
        return {key: list(items) for key, items in groups.items()}
    taken = {key: 0 for key in groups}
    budget = limit
    while budget > 0:
        progressed = False
        for key, items in groups.items():
            if budget > 0 and taken[key] < len(items):
                taken[key] += 1
                budget -= 1
                progressed = True
        if not progressed:
            break
    return {key: items[len(items) - taken[key]:] for key, items in groups.items()}
