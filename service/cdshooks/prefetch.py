"""What one prefetch value tells us (spec E6-E8, E12).

Three states matter and are easy to confuse: a key that is absent (the client did not try: fetch it),
a key that is ``null`` (the client has no data: do not refetch), and a value we cannot trust (an
OperationOutcome alone, a Bundle carrying an error or fatal OperationOutcome, or anything not shaped like
the template's answer: fetch it as if absent). Informational and warning outcomes inside a searchset are
ignored (:mod:`service.fhir.searchset`, the same rule as the FHIR client's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.fhir.searchset import read_page
from service.record import Resource


@dataclass(frozen=True)
class Prefetched:
    """``resources`` is ``None`` when the value does not satisfy the template.

    ``next_url`` is set when the client paginated the prefetch: the resources are the first page only.
    ``medications`` and ``patients`` are the Medications and fullUrl'd Patients the Bundle also carried
    (to resolve ``medicationReference`` and ``urn:uuid`` subjects), read in the same pass.
    """

    resources: list[Resource] | None
    next_url: str | None = None
    medications: tuple[tuple[str | None, Resource], ...] = ()
    patients: tuple[tuple[str, Resource], ...] = ()

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
    page = read_page(value, resource_type)
    if page is None:
        return UNSATISFIED
    return Prefetched(page.resources, page.next_url, tuple(page.medications), tuple(page.patients))
