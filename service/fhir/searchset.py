"""What one searchset page holds, read the same way for a prefetch value and for a FHIR server's answer.

The one rule for OperationOutcome entries (issue 11): an outcome whose issues are all ``information`` or
``warning`` (Epic adds one to most searchsets, and it is the only entry of an empty result) is ignored and
the page keeps its resources; an outcome with an ``error`` or ``fatal`` issue means the server could not
answer fully, so the page is not trusted at all (partial data could hide a red flag). Entries in
``search.mode: outcome`` are never taken as matches. Medications are collected from every entry (an
``_include`` of the medication arrives as ``search.mode: include``), so a ``medicationReference`` can be
resolved without another call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from service.fhir.decode import FhirStruct, OperationOutcome, Value
from service.record import Item, Resource

NOT_MATCHES = frozenset({"include", "outcome"})
T = TypeVar("T", Resource, Item)


@dataclass(frozen=True)
class Page(Generic[T]):
    """The matches of one page, the Medications it carried (with their fullUrl, if any), the Patients it
    carried under a fullUrl (what a ``urn:uuid`` reference may resolve to) and its next link."""

    resources: list[T]
    medications: list[tuple[str | None, T]] = field(default_factory=list)
    next_url: str | None = None
    patients: list[tuple[str, T]] = field(default_factory=list)


def is_error_outcome(outcome: Mapping[str, Any]) -> bool:
    """Whether an OperationOutcome says the request failed (an ``error`` or ``fatal`` issue)."""
    issues = outcome.get("issue")
    if not isinstance(issues, list):
        return False
    return any(isinstance(i, dict) and i.get("severity") in ("error", "fatal") for i in issues)


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The URL of the next page, if the Bundle has one."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url: str = link["url"]
            return url
    return None


def read_page(bundle: Mapping[str, Any], resource_type: str) -> Page[Resource] | None:
    """The page's ``resource_type`` matches and Medications; ``None`` when an error outcome voids it."""
    entries = bundle.get("entry")
    items = (
        (entry.get("resource"), entry.get("fullUrl"), entry.get("search"))
        for entry in (entries if type(entries) is list else ())
        if type(entry) is dict
    )
    return _read(items, next_link(bundle), resource_type)  # type: ignore[return-value]  # dicts only


def read_decoded_page(value: Value, resource_type: str) -> Page[Item] | None:
    """:func:`read_page` for a Bundle decoded by :mod:`service.fhir.decode` (Structs among its resources)."""
    items = ((e.resource, e.fullUrl, e.search) for e in value.entries or ())
    return _read(items, next_link({"link": value.link}), resource_type)


def _read(items: Iterable[tuple[Any, Any, Any]], next_url: str | None, resource_type: str) -> Page[Item] | None:
    """One pass over (resource, fullUrl, search) of each entry, the common one (a match without ``search``
    or in mode ``match``) first: this runs for every resource of every request."""
    found: list[Item] = []
    medications: list[tuple[str | None, Item]] = []
    patients: list[tuple[str, Item]] = []
    for resource, full_url, search in items:
        if isinstance(resource, FhirStruct):
            kind: Any = type(resource).__name__
        elif type(resource) is dict:
            kind = resource.get("resourceType")
        else:
            continue
        if kind == resource_type:
            mode = search.get("mode") if type(search) is dict else None
            if type(mode) is not str or mode not in NOT_MATCHES:  # garbage search: a match
                found.append(resource)
        elif kind == "OperationOutcome":
            if is_error_outcome({"issue": resource.issue} if isinstance(resource, OperationOutcome) else resource):
                return None
        elif kind == "Medication":
            medications.append((full_url if type(full_url) is str else None, resource))
        elif kind == "Patient" and type(full_url) is str:
            patients.append((full_url, resource))
    return Page(found, medications, next_url, patients)


def read_answer_page(value: Value, resource_type: str) -> tuple[Page[Item] | None, int] | None:
    """A FHIR server's searchset page decoded by :func:`service.fhir.decode.decode_resource`: the page
    (``None`` when an error outcome voids it) and how many entries it had; ``None`` when its ``entry`` or
    ``link`` is not a list (the client refuses such an answer)."""
    if value.is_plain:
        bundle = value.plain
        if not isinstance(bundle, dict) or not isinstance(bundle.get("entry"), list | None) \
                or not isinstance(bundle.get("link"), list | None):
            return None
        entries = bundle.get("entry")
        page: Page[Item] | None = read_page(bundle, resource_type)  # type: ignore[assignment]  # dicts are Items
        return page, len(entries) if isinstance(entries, list) else 0
    if not isinstance(value.link, list | None):
        return None
    return read_decoded_page(value, resource_type), len(value.entries or ())
