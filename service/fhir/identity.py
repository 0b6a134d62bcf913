"""Patient identity: only resources that name the patient in context reach the rules (issue 11).

A mis-keyed prefetch or a proxy bug must never put one patient's findings on another patient's card. A
resource is the context patient's when it is that Patient (same id) or its ``subject`` (else ``patient``)
reference is ``Patient/<id>``, an absolute URL ending in ``/Patient/<id>``, either of them versioned
(``/_history/<v>``), or a ``urn:uuid:`` that a Bundle of the request resolves to that Patient. Anything
else (another patient, a Group, an identifier-only or missing reference) is dropped and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from service.fhir.decode import UNSET, Clinical, FhirStruct, Patient, Reference
from service.record import Item

OTHER_PATIENT = "other_patient"
UNNAMED = "no_patient_reference"
REASONS = frozenset({OTHER_PATIENT, UNNAMED})


def literal_reference(value: Any) -> str | None:
    """The ``reference`` string of a FHIR Reference (a dict or a decoded :class:`Reference`), or ``None``."""
    if isinstance(value, dict):
        ref = value.get("reference")
    elif isinstance(value, Reference):
        ref = value.reference
    else:
        return None
    return ref if isinstance(ref, str) and ref else None


def id_of(resource: Item) -> object:
    """The ``id`` of a dict or decoded resource (whatever a dict holds there)."""
    return resource.get("id") if isinstance(resource, Mapping) else getattr(resource, "id", None)


def target(reference: str) -> tuple[str, str] | None:
    """``(type, id)`` of a relative or absolute literal reference, ignoring ``/_history/<v>``."""
    parts = reference.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not parts[-1] or not parts[-2]:
        return None
    if len(parts) > 2 and not reference.startswith(("http://", "https://")):
        return None
    return parts[-2], parts[-1]


def bundle_aliases(bundle: Mapping[str, Any], patient_id: str) -> set[str]:
    """The ``fullUrl`` of every entry of ``bundle`` that is the Patient ``patient_id``."""
    out: set[str] = set()
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("fullUrl"), str):
            continue
        resource = entry.get("resource")
        if isinstance(resource, dict) and (resource.get("resourceType"), resource.get("id")) == ("Patient", patient_id):
            out.add(entry["fullUrl"])
    return out


@dataclass(frozen=True)
class PatientIdentity:
    """The patient in context and the ``urn:uuid`` fullUrls a Bundle of the request gave it."""

    patient_id: str
    aliases: frozenset[str] = frozenset()

    @classmethod
    def of(cls, patient_id: str, values: Iterable[Any]) -> PatientIdentity:
        """Collect aliases from every Bundle among ``values`` (the prefetch values)."""
        aliases: set[str] = set()
        for value in values:
            if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                aliases |= bundle_aliases(value, patient_id)
        return cls(patient_id, frozenset(a for a in aliases if a.startswith("urn:uuid:")))

    @classmethod
    def from_patients(cls, patient_id: str, patients: Iterable[tuple[str, Item]]) -> PatientIdentity:
        """Aliases from (fullUrl, Patient) pairs a Bundle carried, e.g. :attr:`Prefetched.patients`."""
        return cls(
            patient_id,
            frozenset(u for u, p in patients if id_of(p) == patient_id and u.startswith("urn:uuid:")),
        )

    @cached_property
    def _plain(self) -> str:
        return f"Patient/{self.patient_id}"

    def names_patient(self, reference: str) -> bool:
        if reference in self.aliases:
            return True
        if reference.startswith("urn:"):
            return False
        return target(reference) == ("Patient", self.patient_id)

    def verdict(self, resource: Item) -> str | None:
        """``None`` when ``resource`` is the context patient's, else the reason it is not."""
        if isinstance(resource, FhirStruct):
            return self._decoded_verdict(resource)
        if resource.get("resourceType") == "Patient":
            return None if resource.get("id") == self.patient_id else OTHER_PATIENT
        subject = resource.get("subject")
        if type(subject) is dict and subject.get("reference") == self._plain:
            return None  # the common case, without parsing
        for name in ("subject", "patient"):
            if name in resource:
                ref = literal_reference(resource[name])
                if ref is None:
                    return UNNAMED
                return None if self.names_patient(ref) else OTHER_PATIENT
        return UNNAMED

    def _decoded_verdict(self, resource: FhirStruct) -> str | None:
        """:meth:`verdict` of a decoded resource: ``subject`` and ``patient`` are UNSET when absent."""
        if isinstance(resource, Patient):
            return None if resource.id == self.patient_id else OTHER_PATIENT
        if not isinstance(resource, Clinical):
            return UNNAMED  # a Medication names no patient: it is never a key's own resource
        for value in (resource.subject, resource.patient):
            if value is not UNSET:
                ref = literal_reference(value)
                if ref is None:
                    return UNNAMED
                return None if self.names_patient(ref) else OTHER_PATIENT
        return UNNAMED

    def keep(
        self, resources: Mapping[str, list[Item]]
    ) -> tuple[dict[str, list[Item]], Counter[tuple[str, str]]]:
        """The resources per key that are the context patient's, and (resourceType, reason) counts of the rest."""
        kept: dict[str, list[Item]] = {}
        dropped: Counter[tuple[str, str]] = Counter()
        plain = self._plain
        for key, items in resources.items():
            mine: list[Item] = []
            for resource in items:
                if isinstance(resource, FhirStruct):
                    # inlined common case of verdict(): this runs per resource
                    if isinstance(resource, Clinical):
                        subject = resource.subject
                        if type(subject) is Reference and subject.reference == plain:
                            mine.append(resource)
                            continue
                    reason = self._decoded_verdict(resource)
                    if reason is None:
                        mine.append(resource)
                    else:
                        dropped[(type(resource).__name__, reason)] += 1
                    continue
                subject = resource.get("subject")
                if (
                    type(subject) is dict
                    and subject.get("reference") == plain
                    and resource.get("resourceType") != "Patient"
                ):
                    mine.append(resource)
                    continue
                reason = self.verdict(resource)
                if reason is None:
                    mine.append(resource)
                else:
                    dropped[(str(resource.get("resourceType")), reason)] += 1
            kept[key] = mine
        return kept, dropped
