"""What data gathering hands to the clinical engine: raw FHIR resources per prefetch key.

The engine never sees HTTP or prefetch mechanics; gathering never sees clinical logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.fhir.decode import FhirStruct

Resource = Mapping[str, Any]
# A resource as data gathering hands it on: a dict (the tolerant path) or a Struct decoded in one pass from
# the request's bytes (service.fhir.decode, issue 17); both read alike downstream.
Item = Resource | FhirStruct


@dataclass(frozen=True)
class PatientRecord:
    """The patient's data as obtained for one invocation.

    ``resources`` maps a prefetch key of ``cards/service.json`` (``patient``, ``conditions``, ...) to the
    resources obtained for it: unwrapped from Bundles, OperationOutcomes removed, only those that name the
    patient in context (``service.fhir.identity``), each ``medicationReference`` resolved into
    ``medicationCodeableConcept`` (``service.fhir.medications``).
    ``unavailable`` names the optional keys that could not be obtained: the card says they were
    "not evaluated". A key present with an empty list means "obtained, and there is no data".
    ``binaries`` maps a clinical note's attachment url to the Binary read from fhirServer for it.
    """

    patient_id: str
    resources: Mapping[str, Sequence[Item]]
    unavailable: frozenset[str] = field(default_factory=frozenset)
    binaries: Mapping[str, Resource] = field(default_factory=dict)

    def of(self, key: str) -> Sequence[Item]:
        return self.resources.get(key, ())
