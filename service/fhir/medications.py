"""``medicationReference`` resolved to the Medication's code (CLINICAL_RULES.md item 33).

Epic and Meditech send every MedicationRequest with a ``medicationReference``; the rules read medication
codes, so an unresolved reference silently loses treatment failure, escalating analgesia and the weight-loss
medicine exclusion. Resolution order: a contained Medication (``#id``), a Medication anywhere in the
request's Bundles (an ``_include`` in the same searchset or another key; by ``fullUrl`` or ``Medication/<id>``),
a Medication read from the FHIR server (by :mod:`service.gather`), else the reference's ``display`` as text.
The resolved code is written into ``medicationCodeableConcept`` of a copy, so everything downstream reads a
referenced medication exactly like a coded one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.fhir.identity import literal_reference, target
from service.record import Resource

MEDICATION_USERS = frozenset({"MedicationRequest", "MedicationStatement"})


class MedicationIndex:
    """Medications by ``Medication/<id>`` and by ``fullUrl``."""

    def __init__(self) -> None:
        self._by_ref: dict[str, Resource] = {}

    def add(self, medication: Resource, full_url: str | None = None) -> None:
        if medication.get("resourceType") != "Medication":
            return
        if isinstance(medication.get("id"), str):
            self._by_ref.setdefault(f"Medication/{medication['id']}", medication)
        if full_url:
            self._by_ref.setdefault(full_url, medication)

    def add_bundles(self, values: Iterable[Any]) -> None:
        """Every Medication of every Bundle among ``values``, or a bare Medication value."""
        for value in values:
            if not isinstance(value, dict):
                continue
            if value.get("resourceType") == "Medication":
                self.add(value)
                continue
            entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    full_url = entry.get("fullUrl")
                    self.add(entry["resource"], full_url if isinstance(full_url, str) else None)

    def find(self, reference: str) -> Resource | None:
        found = self._by_ref.get(reference)
        if found is None and not reference.startswith(("urn:", "#")):
            parts = target(reference)
            if parts is not None and parts[0] == "Medication":
                found = self._by_ref.get(f"Medication/{parts[1]}")
        return found


def _reference(resource: Mapping[str, Any]) -> str | None:
    if resource.get("resourceType") not in MEDICATION_USERS or resource.get("medicationCodeableConcept"):
        return None
    return literal_reference(resource.get("medicationReference"))


def _contained(resource: Mapping[str, Any], reference: str) -> Resource | None:
    if not reference.startswith("#"):
        return None
    contained = resource.get("contained")
    for item in contained if isinstance(contained, list) else ():
        if isinstance(item, dict) and item.get("resourceType") == "Medication" and item.get("id") == reference[1:]:
            return item
    return None


def to_read(resources: Iterable[Mapping[str, Any]], index: MedicationIndex, base_url: str | None = None) -> list[str]:
    """Ids of the Medications that neither the resource nor the request's Bundles hold (to read from the server).

    Only relative references, or absolute ones on ``base_url`` (the fhirServer): a Medication of another
    server read by id from ours could be another drug.
    """
    ids: list[str] = []
    base = base_url.rstrip("/") + "/" if base_url else None
    for resource in resources:
        reference = _reference(resource)
        if reference is None or reference.startswith(("#", "urn:")) or index.find(reference) is not None:
            continue
        if reference.startswith(("http://", "https://")) and (base is None or not reference.startswith(base)):
            continue
        parts = target(reference)
        if parts is not None and parts[0] == "Medication" and parts[1] not in ids:
            ids.append(parts[1])
    return ids


def resolve(resource: Resource, index: MedicationIndex) -> Resource:
    """``resource`` itself, or a copy with ``medicationCodeableConcept`` from its referenced Medication."""
    reference = _reference(resource)
    if reference is None:
        return resource
    medication = _contained(resource, reference) or index.find(reference)
    code = medication.get("code") if medication is not None else None
    if isinstance(code, dict) and (code.get("coding") or code.get("text")):
        concept: dict[str, Any] = code
    else:
        display = resource["medicationReference"].get("display")
        if not isinstance(display, str) or not display.strip():
            return resource
        concept = {"text": display}
    return {**resource, "medicationCodeableConcept": concept}
