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

from collections.abc import Iterable
from typing import Any

from service.fhir.decode import (
    CodeableConcept,
    FhirStruct,
    Medication,
    MedicationUser,
    as_builtin,
    concept_from,
    kind_of,
)
from service.fhir.identity import id_of, literal_reference, target
from service.record import Item, Resource

MEDICATION_USERS = frozenset({"MedicationRequest", "MedicationStatement"})


class MedicationIndex:
    """Medications by ``Medication/<id>`` and by ``fullUrl``."""

    def __init__(self) -> None:
        self._by_ref: dict[str, Item] = {}

    def add(self, medication: Item, full_url: str | None = None) -> None:
        if kind_of(medication) != "Medication":
            return
        medication_id = id_of(medication)
        if isinstance(medication_id, str):
            self._by_ref.setdefault(f"Medication/{medication_id}", medication)
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

    def find(self, reference: str) -> Item | None:
        found = self._by_ref.get(reference)
        if found is None and not reference.startswith(("urn:", "#")):
            parts = target(reference)
            if parts is not None and parts[0] == "Medication":
                found = self._by_ref.get(f"Medication/{parts[1]}")
        return found


def _reference(resource: Item) -> str | None:
    if isinstance(resource, FhirStruct):
        if not isinstance(resource, MedicationUser) or resource.medicationCodeableConcept is not None:
            return None  # decoding refused an empty concept beside a reference: ``{}`` is falsy here
        return literal_reference(resource.medicationReference)
    if resource.get("resourceType") not in MEDICATION_USERS or resource.get("medicationCodeableConcept"):
        return None
    return literal_reference(resource.get("medicationReference"))


def _contained(resource: Item, reference: str) -> Resource | None:
    if not reference.startswith("#"):
        return None
    if isinstance(resource, FhirStruct):
        contained = resource.contained if isinstance(resource, MedicationUser) else None
    else:
        contained = resource.get("contained")
    for item in contained if isinstance(contained, list) else ():
        if isinstance(item, dict) and item.get("resourceType") == "Medication" and item.get("id") == reference[1:]:
            return item
    return None


def to_read(resources: Iterable[Item], index: MedicationIndex, base_url: str | None = None) -> list[str]:
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


def _code(medication: Item | None) -> Any:
    if medication is None:
        return None
    if isinstance(medication, FhirStruct):
        return medication.code if isinstance(medication, Medication) else None
    return medication.get("code")


def resolve(resource: Item, index: MedicationIndex) -> Item:
    """``resource`` itself, or a copy with ``medicationCodeableConcept`` from its referenced Medication."""
    reference = _reference(resource)
    if reference is None:
        return resource
    code = _code(_contained(resource, reference) or index.find(reference))
    if isinstance(resource, FhirStruct):
        return _resolve_decoded(resource, code) if isinstance(resource, MedicationUser) else resource
    if isinstance(code, CodeableConcept):
        code = as_builtin(code)  # a decoded Medication's code, for a resource the tolerant path reads
    if isinstance(code, dict) and (code.get("coding") or code.get("text")):
        concept: dict[str, Any] = code
    else:
        display = resource["medicationReference"].get("display")
        if not isinstance(display, str) or not display.strip():
            return resource
        concept = {"text": display}
    return {**resource, "medicationCodeableConcept": concept}


def _resolve_decoded(resource: MedicationUser, code: Any) -> Item:
    """:func:`resolve` for a decoded resource: the same choice, the concept as a Struct."""
    if isinstance(code, CodeableConcept):
        usable = bool(code.coding or code.text)
    else:
        usable = isinstance(code, dict) and bool(code.get("coding") or code.get("text"))
    if usable:
        concept = concept_from(code)
        if concept is None:  # msgspec refuses this code: the tolerant path decides (it skips the resource)
            return {**as_builtin(resource), "medicationCodeableConcept": code}
        return resource.with_concept(concept)
    display = resource.medicationReference.display if resource.medicationReference is not None else None
    if not isinstance(display, str) or not display.strip():
        return resource
    return resource.with_concept(CodeableConcept(text=display))
