"""What one prefetch value tells us (spec E6-E8, E12).

Three states matter and are easy to confuse: a key that is absent (the client did not try: fetch it),
a key that is ``null`` (the client has no data: do not refetch), and a value we cannot trust (an
OperationOutcome, alone or inside a Bundle, or anything not shaped like the template's answer:
fetch it as if absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.fhir.client import next_link
from service.record import Resource


@dataclass(frozen=True)
class Prefetched:
    """``resources`` is ``None`` when the value does not satisfy the template.

    ``next_url`` is set when the client paginated the prefetch: the resources are the first page only.
    """

    resources: list[Resource] | None
    next_url: str | None = None

    @property
    def complete(self) -> bool:
        return self.resources is not None and self.next_url is None


UNSATISFIED = Prefetched(None)


def resolve_prefetch(prefetch: Mapping[str, Any] | None, key: str, resource_type: str) -> Prefetched:
    """Interpret ``prefetch[key]`` for a template that answers ``resource_type`` resources."""
    if prefetch is None or key not in prefetch:
        return UNSATISFIED
    value = prefetch[key]
    if value is None:
        return Prefetched([])
    if not isinstance(value, dict):
        return UNSATISFIED
    kind = value.get("resourceType")
    if kind == resource_type:
        return Prefetched([value])
    if kind != "Bundle":
        return UNSATISFIED
    entries = value.get("entry")
    links = value.get("link")
    if not isinstance(entries, list | None) or not isinstance(links, list | None):
        return UNSATISFIED  # a Bundle in name only: not the answer the template asked for
    found: list[Resource] = []
    for entry in entries or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "OperationOutcome":
            return UNSATISFIED
        if resource.get("resourceType") == resource_type:
            found.append(resource)
    return Prefetched(found, next_link(value))
