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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.record import Resource

NOT_MATCHES = frozenset({"include", "outcome"})


@dataclass(frozen=True)
class Page:
    """The matches of one page, the Medications it carried (with their fullUrl, if any), the Patients it
    carried under a fullUrl (what a ``urn:uuid`` reference may resolve to) and its next link."""

    resources: list[Resource]
    medications: list[tuple[str | None, Resource]] = field(default_factory=list)
    next_url: str | None = None
    patients: list[tuple[str, Resource]] = field(default_factory=list)


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


def read_page(bundle: Mapping[str, Any], resource_type: str) -> Page | None:
    """The page's ``resource_type`` matches and Medications; ``None`` when an error outcome voids it.

    One pass over the entries, the common one (a match without ``search`` or in mode ``match``) first:
    this runs for every resource of every request.
    """
    found: list[Resource] = []
    medications: list[tuple[str | None, Resource]] = []
    patients: list[tuple[str, Resource]] = []
    entries = bundle.get("entry")
    for entry in entries if type(entries) is list else ():
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict:
            continue
        kind = resource.get("resourceType")
        if kind == resource_type:
            search = entry.get("search")
            if type(search) is not dict or search.get("mode") not in NOT_MATCHES:  # garbage search: a match
                found.append(resource)
        elif kind == "OperationOutcome":
            if is_error_outcome(resource):
                return None
        elif kind == "Medication":
            full_url = entry.get("fullUrl")
            medications.append((full_url if type(full_url) is str else None, resource))
        elif kind == "Patient" and type(entry.get("fullUrl")) is str:
            patients.append((entry["fullUrl"], resource))
    return Page(found, medications, next_link(bundle), patients)
