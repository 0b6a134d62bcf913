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

from service.fhir.decode import Value
from service.fhir.searchset import read_decoded_page, read_page
from service.record import Item


@dataclass(frozen=True)
class Prefetched:
    """``resources`` is ``None`` when the value does not satisfy the template.

    ``next_url`` is set when the client paginated the prefetch: the resources are the first page only.
    ``medications`` and ``patients`` are the Medications and fullUrl'd Patients the Bundle also carried
    (to resolve ``medicationReference`` and ``urn:uuid`` subjects), read in the same pass.
    """

    resources: list[Item] | None
    next_url: str | None = None
    medications: tuple[tuple[str | None, Item], ...] = ()
    patients: tuple[tuple[str, Item], ...] = ()

    @property
    def complete(self) -> bool:
        return self.resources is not None and self.next_url is None


UNSATISFIED = Prefetched(None)


def resolve_prefetch(prefetch: Mapping[str, Any] | None, key: str, resource_type: str) -> Prefetched:
    """Interpret ``prefetch[key]`` for a template that answers ``resource_type`` resources."""
    if prefetch is None or key not in prefetch:
        return UNSATISFIED
    value = prefetch[key]
    if isinstance(value, Value):  # decoded from the request's bytes (service.fhir.decode)
        if not value.is_plain:
            return _resolve_decoded(value, resource_type)
        value = value.plain  # msgspec did not take it apart: read it as today
    if value is None:
        return Prefetched([])
    if not isinstance(value, dict):
        return UNSATISFIED
    kind = value.get("resourceType")
    if kind == resource_type:
        return Prefetched([value])
    if kind != "Bundle":
        return UNSATISFIED
    if not isinstance(value.get("entry"), list | None) or not isinstance(value.get("link"), list | None):
        return UNSATISFIED  # a Bundle in name only: not the answer the template asked for
    page = read_page(value, resource_type)
    if page is None:
        return UNSATISFIED
    return Prefetched([*page.resources], page.next_url, tuple(page.medications), tuple(page.patients))


def _resolve_decoded(value: Value, resource_type: str) -> Prefetched:
    """:func:`resolve_prefetch` for a value decoded from the request's bytes: the same rules, in the same order."""
    if value.kind == resource_type:
        return Prefetched([value.resource])
    if value.kind != "Bundle":
        return UNSATISFIED
    if not isinstance(value.link, list | None):  # ``entry`` is a list or absent, or the value is plain
        return UNSATISFIED
    page = read_decoded_page(value, resource_type)
    if page is None:
        return UNSATISFIED
    return Prefetched(page.resources, page.next_url, tuple(page.medications), tuple(page.patients))
