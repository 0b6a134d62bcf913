"""Light pydantic models of the FHIR R4 fields the rules read, and the ONE place raw dicts become typed.

Full ``fhir.resources.R4B`` validation costs 20-30x more on the request path, so requests go through these
models: unknown fields are ignored, a resource whose needed fields are malformed (bad date, wrong type) is
skipped and counted, never a 500. Dates are parsed here into :class:`~service.fhir.dates.When`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from service.fhir.dates import When, parse_when

log = logging.getLogger(__name__)

# PlainValidator: parse_when's result is final, pydantic does not validate it again.
FhirWhen = Annotated[When | None, PlainValidator(parse_when)]


class Light(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Coding(Light):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(Light):
    coding: tuple[Coding, ...] = ()
    text: str | None = None


class Period(Light):
    start: FhirWhen = None
    end: FhirWhen = None


class Quantity(Light):
    value: float | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class Annotation(Light):
    text: str | None = None
    time: FhirWhen = None


class Resource(Light):
    resourceType: str
    id: str
    status: str | None = None


class Patient(Resource):
    birthDate: FhirWhen = None
    gender: object = None  # read leniently: an odd gender never drops the Patient (PSA test, item 28)


class Condition(Resource):
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    code: CodeableConcept | None = None
    onsetDateTime: FhirWhen = None
    onsetPeriod: Period | None = None
    onsetAge: Quantity | None = None
    abatementDateTime: FhirWhen = None
    abatementPeriod: Period | None = None
    abatementString: str | None = None
    recordedDate: FhirWhen = None
    note: tuple[Annotation, ...] = ()


class Component(Light):
    code: CodeableConcept | None = None
    valueCodeableConcept: CodeableConcept | None = None


class Observation(Resource):
    code: CodeableConcept | None = None
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    valueString: str | None = None
    effectiveDateTime: FhirWhen = None
    effectiveInstant: FhirWhen = None
    effectivePeriod: Period | None = None
    issued: FhirWhen = None
    component: tuple[Component, ...] = ()
    note: tuple[Annotation, ...] = ()


class MedicationRequest(Resource):
    medicationCodeableConcept: CodeableConcept | None = None
    authoredOn: FhirWhen = None


class MedicationStatement(Resource):
    medicationCodeableConcept: CodeableConcept | None = None
    effectiveDateTime: FhirWhen = None
    effectivePeriod: Period | None = None


class Procedure(Resource):
    code: CodeableConcept | None = None
    performedDateTime: FhirWhen = None
    performedPeriod: Period | None = None


class ServiceRequest(Resource):
    code: CodeableConcept | None = None
    authoredOn: FhirWhen = None


class DiagnosticReport(Resource):
    code: CodeableConcept | None = None
    effectiveDateTime: FhirWhen = None
    effectivePeriod: Period | None = None
    issued: FhirWhen = None


class ActivityDetail(Light):
    code: CodeableConcept | None = None
    status: str | None = None


class Activity(Light):
    detail: ActivityDetail | None = None


class CarePlan(Resource):
    category: tuple[CodeableConcept, ...] = ()
    period: Period | None = None
    activity: tuple[Activity, ...] = ()


class ImagingStudy(Resource):
    started: FhirWhen = None
    procedureCode: tuple[CodeableConcept, ...] = ()


class Attachment(Light):
    contentType: str | None = None
    data: str | None = None
    url: str | None = None


class DocumentContent(Light):
    attachment: Attachment | None = None


class DocumentContext(Light):
    period: Period | None = None


class DocumentReference(Resource):
    """A clinical note (US Core DocumentReference): read for its text only (Revision 2 item 30)."""

    docStatus: str | None = None
    date: FhirWhen = None
    content: tuple[DocumentContent, ...] = ()
    context: DocumentContext | None = None


MODELS: dict[str, type[Resource]] = {
    model.__name__: model
    for model in (
        Patient,
        Condition,
        Observation,
        MedicationRequest,
        MedicationStatement,
        Procedure,
        ServiceRequest,
        DiagnosticReport,
        CarePlan,
        ImagingStudy,
        DocumentReference,
    )
}
R = TypeVar("R", bound=Resource)


def read_resources(
    raw: Iterable[Mapping[str, Any]], model: type[R], *, log_skipped: bool = True
) -> tuple[list[R], int]:
    """Typed resources of ``model``'s type from ``raw``; others are ignored, unreadable ones counted.

    Logs only the resource type and the count of skipped resources, never ids or content (unless
    ``log_skipped`` is False: the caller logs the count of a larger batch).
    """
    out: list[R] = []
    skipped = 0
    name = model.__name__
    for item in raw:
        if (type(item) is not dict and not isinstance(item, Mapping)) or item.get("resourceType") != name:
            continue
        try:
            out.append(model.model_validate(item))
        except (ValidationError, ValueError, TypeError):
            skipped += 1
    if skipped and log_skipped:
        log.warning("skipped unreadable FHIR resources", extra={"resource_type": name, "count": skipped})
    return out, skipped
