"""One pass from JSON bytes to the typed resources the rules read (issue 17): msgspec, in this module only.

``orjson.loads`` builds a dict for every member of every resource, most of which no rule reads (narrative,
extensions, identifiers), and the light pydantic models (:mod:`service.fhir.models`) then validate the
rest one resource at a time. Here msgspec decodes the bytes straight into Structs with the same fields,
types and date rules as those models and skips everything else without building it.

The tolerant path stays the authority: whatever msgspec refuses (a resource whose read fields have an odd
type, an unknown resourceType, a value that is neither a Bundle nor a resource) is read again from its own
bytes with ``orjson`` and goes through today's dict path (relevance filter, pydantic light model, skipped
and counted), so no request fails over a shape, and a resource is read, or skipped, exactly as before.
Structs and dicts travel side by side in one list, in the order of the request. Dates are parsed where the
light model would validate (:meth:`_Dated.fill_dates`, after the relevance filter): a bad one makes the
resource unreadable there, as today.

Decoding is one pass over the whole body when msgspec can take all of it (the common case), else layer by
layer (:func:`split_body`), so an odd resource costs only itself.

What this module gives the rest of the service:

- :func:`split_body`: a request body's envelope (plain JSON) and its prefetch values as :class:`Value`;
- :func:`decode_resource`: one FHIR server answer (a read or a searchset page) as a :class:`Value`;
- :func:`decode_batch`: a ``batch-response`` Bundle as one :class:`BatchEntry` per query asked;
- the Structs (:class:`FhirStruct` and its subclasses), which the identity check, the medication
  resolution, the relevance filter and the fact readers read like the light models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec
import orjson
from msgspec import Raw, Struct, field

from service.fhir.dates import When, parse_when

UNSET = msgspec.UNSET  # ``subject`` / ``patient`` absent (``None``: present and null)

__all__ = [
    "UNSET",
    "FastBody",
    "FhirStruct",
    "InvalidJson",
    "Value",
    "decode_resource",
    "kind_of",
    "split_body",
]


class InvalidJson(ValueError):
    """Raised when bytes msgspec let through are not JSON to ``orjson`` either (today's 400)."""


class _Light(Struct, gc=False):
    """Decoded FHIR data, untracked by the garbage collector (decoded JSON has no cycles). Treat as
    immutable: a resolved medication is a copy (:meth:`MedicationUser.with_concept`)."""


class _Dated(_Light):
    """A Struct with dates, or with members that hold some.

    Each date is decoded as text under its JSON name; :meth:`fill_dates` parses it with ``parse_when``
    into the attribute the readers use. That happens when the facts are built, after the relevance
    filter, exactly where the light model would validate the resource: a malformed date makes it
    unreadable (skipped and counted) there, and the dates of resources no rule reads are never parsed.
    """

    _dates: ClassVar[tuple[str, ...]] = ()
    _nested: ClassVar[tuple[str, ...]] = ()
    # (text attribute, parsed attribute) per date, made once per class rather than per call.
    _date_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._date_pairs = tuple((name + "_text", name) for name in cls._dates)

    def fill_dates(self) -> None:
        """Parse every date of this Struct and of its members. Raises ValueError for a malformed one."""
        last: str | None = None
        parsed: When | None = None
        for text_name, name in self._date_pairs:
            text = getattr(self, text_name)
            if text is not None:
                if text != last:  # a resource often repeats one instant (effective and issued)
                    last, parsed = text, parse_when(text)
                setattr(self, name, parsed)
        for name in self._nested:
            value = getattr(self, name)
            if type(value) is tuple:
                for item in value:
                    item.fill_dates()
            elif value is not None:
                value.fill_dates()


def _date(name: str) -> Any:
    """The parsed date attribute: filled by :meth:`_Dated.fill_dates`, its JSON name one no FHIR member has."""
    return field(default=None, name=name + "~parsed")


def _text(name: str) -> Any:
    return field(default=None, name=name)


class Coding(_Light):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(_Light):
    coding: tuple[Coding, ...] = ()
    text: str | None = None


EMPTY_CONCEPT = CodeableConcept()


class Period(_Dated):
    _dates = ("start", "end")
    start_text: str | None = _text("start")
    end_text: str | None = _text("end")
    start: When | None = _date("start")
    end: When | None = _date("end")


class Quantity(_Light):
    value: float | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class Annotation(_Dated):
    _dates = ("time",)
    text: str | None = None
    time_text: str | None = _text("time")
    time: When | None = _date("time")


class Reference(_Light):
    """``subject``, ``patient``, ``medicationReference``: read as leniently as the dict path reads them."""

    reference: Any = None
    display: Any = None


class FhirStruct(_Dated, tag_field="resourceType", tag=True):
    """A resource decoded here; its resourceType is its class name (:func:`kind_of`)."""


class Medication(FhirStruct):
    id: str | None = None
    code: CodeableConcept | None = None


class Resource(FhirStruct):
    id: str
    status: str | None = None


class Patient(Resource):
    _dates = ("birthDate",)
    birthDate_text: str | None = _text("birthDate")
    birthDate: When | None = _date("birthDate")
    gender: Any = None  # read leniently, like the light model: an odd gender never drops the Patient


class Clinical(Resource):
    """A resource about a patient: ``subject`` (else ``patient``) names whom; UNSET when absent."""

    subject: Reference | msgspec.UnsetType | None = msgspec.UNSET
    patient: Reference | msgspec.UnsetType | None = msgspec.UNSET


class Condition(Clinical):
    _dates = ("onsetDateTime", "abatementDateTime", "recordedDate")
    _nested = ("onsetPeriod", "abatementPeriod", "note")
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    code: CodeableConcept | None = None
    onsetDateTime_text: str | None = _text("onsetDateTime")
    onsetDateTime: When | None = _date("onsetDateTime")
    onsetPeriod: Period | None = None
    onsetAge: Quantity | None = None
    abatementDateTime_text: str | None = _text("abatementDateTime")
    abatementDateTime: When | None = _date("abatementDateTime")
    abatementPeriod: Period | None = None
    abatementString: str | None = None
    recordedDate_text: str | None = _text("recordedDate")
    recordedDate: When | None = _date("recordedDate")
    note: tuple[Annotation, ...] = ()


class Component(_Light):
    code: CodeableConcept | None = None
    valueCodeableConcept: CodeableConcept | None = None


class Observation(Clinical):
    _dates = ("effectiveDateTime", "effectiveInstant", "issued")
    _nested = ("effectivePeriod", "note")
    code: CodeableConcept | None = None
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    valueString: str | None = None
    effectiveDateTime_text: str | None = _text("effectiveDateTime")
    effectiveDateTime: When | None = _date("effectiveDateTime")
    effectiveInstant_text: str | None = _text("effectiveInstant")
    effectiveInstant: When | None = _date("effectiveInstant")
    effectivePeriod: Period | None = None
    issued_text: str | None = _text("issued")
    issued: When | None = _date("issued")
    component: tuple[Component, ...] = ()
    note: tuple[Annotation, ...] = ()


class MedicationUser(Clinical):
    """MedicationRequest and MedicationStatement: a coded medication, or a reference to resolve."""

    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    contained: Any = None  # read like the dict path: only a list's Medication items count

    def __post_init__(self) -> None:
        if self.medicationCodeableConcept == EMPTY_CONCEPT and self.medicationReference is not None:
            # ``{}`` (falsy: the reference is resolved) and ``{"x": 1}`` (truthy: it is not) decode alike:
            # msgspec turns this into a ValidationError, and the tolerant path reads the resource
            raise ValueError("an empty medicationCodeableConcept beside a medicationReference")

    def with_concept(self, concept: CodeableConcept) -> MedicationUser:
        """A copy whose medication is ``concept`` (a resolved ``medicationReference``)."""
        return msgspec.structs.replace(self, medicationCodeableConcept=concept)


class MedicationRequest(MedicationUser):
    _dates = ("authoredOn",)
    authoredOn_text: str | None = _text("authoredOn")
    authoredOn: When | None = _date("authoredOn")


class MedicationStatement(MedicationUser):
    _dates = ("effectiveDateTime",)
    _nested = ("effectivePeriod",)
    effectiveDateTime_text: str | None = _text("effectiveDateTime")
    effectiveDateTime: When | None = _date("effectiveDateTime")
    effectivePeriod: Period | None = None


class Procedure(Clinical):
    _dates = ("performedDateTime",)
    _nested = ("performedPeriod",)
    code: CodeableConcept | None = None
    performedDateTime_text: str | None = _text("performedDateTime")
    performedDateTime: When | None = _date("performedDateTime")
    performedPeriod: Period | None = None


class ServiceRequest(Clinical):
    _dates = ("authoredOn",)
    code: CodeableConcept | None = None
    authoredOn_text: str | None = _text("authoredOn")
    authoredOn: When | None = _date("authoredOn")


class DiagnosticReport(Clinical):
    _dates = ("effectiveDateTime", "issued")
    _nested = ("effectivePeriod",)
    code: CodeableConcept | None = None
    effectiveDateTime_text: str | None = _text("effectiveDateTime")
    effectiveDateTime: When | None = _date("effectiveDateTime")
    effectivePeriod: Period | None = None
    issued_text: str | None = _text("issued")
    issued: When | None = _date("issued")


class ActivityDetail(_Light):
    code: CodeableConcept | None = None
    status: str | None = None


class Activity(_Light):
    detail: ActivityDetail | None = None


class CarePlan(Clinical):
    _nested = ("period",)
    category: tuple[CodeableConcept, ...] = ()
    period: Period | None = None
    activity: tuple[Activity, ...] = ()


class ImagingStudy(Clinical):
    _dates = ("started",)
    started_text: str | None = _text("started")
    started: When | None = _date("started")
    procedureCode: tuple[CodeableConcept, ...] = ()


class OperationOutcome(FhirStruct):
    """A searchset's outcome entry: its issues decide whether the page is trusted (service.fhir.searchset)."""

    issue: Any = None


class DocumentReference(Clinical):
    """A clinical note, taken apart only for the identity check: the text step reads notes as light models,
    so its members stay plain JSON here and :func:`as_builtin` hands them on unchanged."""

    docStatus: Any = None
    date: Any = None
    content: Any = None
    context: Any = None


_ANY_RESOURCE = (
    Patient
    | Condition
    | Observation
    | MedicationRequest
    | MedicationStatement
    | Procedure
    | ServiceRequest
    | DiagnosticReport
    | CarePlan
    | ImagingStudy
    | DocumentReference
    | Medication
    | OperationOutcome
)
_RESOURCE = msgspec.json.Decoder(_ANY_RESOURCE)
_CONCEPT_ERRORS = (msgspec.ValidationError, TypeError, ValueError)


def kind_of(item: FhirStruct | Mapping[str, Any]) -> object:
    """The resourceType of a Struct or of a dict resource (whatever the dict holds there)."""
    return type(item).__name__ if isinstance(item, FhirStruct) else item.get("resourceType")


def concept_from(code: Mapping[str, Any] | CodeableConcept) -> CodeableConcept | None:
    """A Medication's code (a Struct, or a dict read by the tolerant path) as a Struct; None if msgspec
    refuses it (the caller then hands the resource to the tolerant path)."""
    if isinstance(code, CodeableConcept):
        return code
    try:
        return msgspec.convert(code, CodeableConcept)
    except _CONCEPT_ERRORS:
        return None


def as_builtin(item: Any) -> Any:
    """Plain JSON values of a Struct's decoded members (for a dict resource that reads a Struct's code)."""
    return msgspec.to_builtins(item) if isinstance(item, Struct) else item


def _loads(raw: Raw | bytes) -> Any:
    try:
        return orjson.loads(memoryview(raw))
    except orjson.JSONDecodeError as exc:
        raise InvalidJson("request body is not valid JSON") from exc


def _resource(raw: Raw | bytes) -> FhirStruct | Any:
    """A Struct, or for anything msgspec refuses the JSON value as the tolerant path reads it."""
    try:
        decoded: FhirStruct = _RESOURCE.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _loads(raw)
    return decoded


_ABSENT = Raw()


class _Entry(Struct, gc=False):
    resource: Raw = _ABSENT  # msgspec takes Raw alone, not in a union: empty when the member is absent
    fullUrl: Any = None
    search: Any = None


class _Head(Struct, gc=False):
    """What a prefetch value or server answer is: a Bundle's entries and links, or one resource."""

    resourceType: Any = None
    entry: list[_Entry] | None = None
    link: Any = None


_HEAD = msgspec.json.Decoder(_Head)


class Entry(Struct, frozen=True, gc=False):
    """One Bundle entry: its resource (a Struct, a dict, or another JSON value), fullUrl and search."""

    resource: Any
    fullUrl: Any = None
    search: Any = None


class Value(Struct, frozen=True, gc=False):
    """One prefetch value (or server answer) after decoding.

    ``plain`` holds the value as ``orjson`` reads it when msgspec did not take it apart (not a JSON
    object, a Bundle whose ``entry`` is not a list of objects...): the tolerant path reads it as today.
    Otherwise it is a Bundle (``entries``, ``link``) or one resource (``resource``).
    """

    kind: Any = None
    plain: Any = None
    is_plain: bool = False
    entries: Sequence[Entry | BundleEntry] | None = None
    link: Any = None
    resource: Any = None

    @property
    def resource_type(self) -> object:
        """The value's resourceType (``None`` for a JSON value that is not an object)."""
        if self.is_plain:
            return self.plain.get("resourceType") if isinstance(self.plain, dict) else None
        return self.kind

    def single(self) -> Any:
        """The one resource a read answered: a Struct, or the dict the tolerant path read."""
        return self.plain if self.is_plain else self.resource

    def builtin(self) -> Any:
        """The value as plain JSON (Structs as their decoded members): for values no template asked for."""
        if self.is_plain:
            return self.plain
        if self.entries is None:
            return as_builtin(self.resource)
        out: dict[str, Any] = {"resourceType": self.kind, "entry": [
            {"resource": as_builtin(e.resource), "fullUrl": e.fullUrl, "search": e.search} for e in self.entries]}
        if self.link is not None:
            out["link"] = self.link
        return out


def decode_resource(raw: Raw | bytes) -> Value:
    """One prefetch value or FHIR answer: Bundle entries and single resources as Structs where possible.

    For a FHIR server's answer (a read, or a searchset page: :func:`service.fhir.searchset.read_decoded_page`)
    as for a prefetch value.

    Raises:
        InvalidJson: the bytes are not JSON (only reached for what msgspec refused: orjson decides).
    """
    try:
        return _value(_ONE_VALUE.decode(raw))  # the whole value at once: the common case
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        pass
    try:
        head = _HEAD.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return Value(plain=_loads(raw), is_plain=True)
    if head.resourceType == "Bundle":
        entries = tuple(
            Entry(_resource(e.resource) if len(e.resource) else None, e.fullUrl, e.search)
            for e in head.entry or ()
        )
        return Value(kind="Bundle", entries=entries, link=head.link)
    return Value(kind=head.resourceType, resource=_resource(raw))


_TOP = msgspec.json.Decoder(dict[str, Raw])
_PREFETCH = msgspec.json.Decoder(dict[str, Raw] | None)


class FastBody(Struct, frozen=True, gc=False):
    """A request body taken apart: the envelope as ``orjson`` reads it, the prefetch values decoded."""

    envelope: dict[str, Any]
    has_prefetch: bool
    prefetch: dict[str, Value] | None


class BundleEntry(Struct, gc=False):
    """An entry as the one-pass decoding reads it (the same members as :class:`Entry`)."""

    resource: _ANY_RESOURCE | None = None
    fullUrl: Any = None
    search: Any = None


class Bundle(FhirStruct):
    entry: list[BundleEntry] | None = None
    link: Any = None


class _Body(Struct, forbid_unknown_fields=True, gc=False):
    """A whole hook request in one pass: the envelope members as raw JSON, the prefetch typed. Any other
    top-level member (or a snake_case alias pydantic also accepts) sends the body down the layered path."""

    hook: Raw = _ABSENT
    hookInstance: Raw = _ABSENT
    fhirServer: Raw = _ABSENT
    fhirAuthorization: Raw = _ABSENT
    context: Raw = _ABSENT
    extension: Raw = _ABSENT
    prefetch: dict[str, _ANY_RESOURCE | Bundle | None] | msgspec.UnsetType | None = msgspec.UNSET


_BODY = msgspec.json.Decoder(_Body)
_ONE_VALUE = msgspec.json.Decoder(_ANY_RESOURCE | Bundle)
_ENVELOPE = ("hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "extension")
_NULL = Value(plain=None, is_plain=True)


def _value(decoded: FhirStruct | None) -> Value:
    if decoded is None:
        return _NULL
    if isinstance(decoded, Bundle):
        return Value(kind="Bundle", entries=decoded.entry or (), link=decoded.link)
    return Value(kind=type(decoded).__name__, resource=decoded)


def _one_pass(body: bytes) -> FastBody | None:
    """The common case: every prefetch value a Bundle of the known resource types (or one, or null)."""
    try:
        decoded = _BODY.decode(body)
        envelope = {name: orjson.loads(memoryview(raw)) for name in _ENVELOPE if len(raw := getattr(decoded, name))}
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, orjson.JSONDecodeError):
        return None
    prefetch = decoded.prefetch
    if prefetch is msgspec.UNSET:
        return FastBody(envelope, False, None)
    values = None if prefetch is None else {key: _value(value) for key, value in prefetch.items()}
    return FastBody(envelope, True, values)


def split_body(body: bytes) -> FastBody | None:
    """``body`` with its ``prefetch`` decoded, or ``None`` when the tolerant path must read it (not valid
    UTF-8, not a JSON object, an envelope orjson refuses, a prefetch neither object nor null): that path
    then answers exactly as it always did.

    One pass when msgspec can take the whole body at once; else value by value and resource by resource
    (:func:`decode_resource`), so one odd resource costs only itself.

    Raises:
        InvalidJson: a part of the prefetch is not JSON (orjson's verdict, as today's).
    """
    if not body.isascii():
        try:
            body.decode("utf-8")  # msgspec does not check the UTF-8 of what it skips; orjson refuses it
        except UnicodeDecodeError:
            return None
    fast = _one_pass(body)
    if fast is not None:
        return fast
    try:
        top = _TOP.decode(body)
        prefetch = _PREFETCH.decode(top["prefetch"]) if "prefetch" in top else None
        envelope = {key: orjson.loads(memoryview(raw)) for key, raw in top.items() if key != "prefetch"}
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, orjson.JSONDecodeError):
        return None
    values = None if prefetch is None else {key: decode_resource(raw) for key, raw in prefetch.items()}
    return FastBody(envelope, "prefetch" in top, values)


class _BatchEntry(Struct, gc=False):
    resource: Raw = _ABSENT
    response: Any = None


class _BatchHead(Struct, gc=False):
    resourceType: Any = None
    type: Any = None
    entry: list[_BatchEntry] | None = None


_BATCH = msgspec.json.Decoder(_BatchHead)


class BatchEntry(Struct, frozen=True, gc=False):
    """One entry of a batch-response: its HTTP status (``None`` if unreadable), answer and answer size.

    ``size`` is the length of the entry's resource JSON, so the per-response byte cap can be applied
    to each answer as if it had come alone.
    """

    status: int | None
    value: Value | None
    size: int


def decode_batch(raw: bytes) -> tuple[BatchEntry, ...] | None:
    """A FHIR ``batch-response`` Bundle, entry by entry; ``None`` when the bytes are JSON but not one.

    Each entry's resource is decoded by :func:`decode_resource` from its own bytes, as an answer asked
    alone would be, so the searchset rule and the identity check see the same values on both paths.

    Raises:
        InvalidJson: the bytes are not JSON.
    """
    try:
        head = _BATCH.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        _loads(raw)  # orjson decides whether it is JSON at all
        return None
    if head.resourceType != "Bundle" or head.type != "batch-response" or head.entry is None:
        return None
    return tuple(
        BatchEntry(_status(e.response), decode_resource(e.resource) if len(e.resource) else None, len(e.resource))
        for e in head.entry
    )


def _status(response: Any) -> int | None:
    """The code at the start of ``response.status`` ("200", "404 Not Found"), ``None`` if there is none."""
    status = response.get("status") if isinstance(response, dict) else None
    code = status.split(" ", 1)[0] if isinstance(status, str) else ""
    return int(code) if code.isdigit() and len(code) == 3 else None
