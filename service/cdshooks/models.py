"""Pydantic v2 models of the CDS Hooks 2.0.1 wire format (camelCase on the wire).

Requests ignore unknown members (decision A6). Responses are dumped with :func:`dump_clean`, which
drops ``None`` and empty containers so no optional member is ever null or empty (A2/A3).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

USER_ID_PATTERN = r"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[^/\s]+$"


class WireModel(BaseModel):
    """camelCase aliases, population by field name, unknown members ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class FhirAuthorization(WireModel):
    """The OAuth token the CDS client lends us for its FHIR server (spec F3). Never logged."""

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None

    def __repr__(self) -> str:  # keep the token out of any accidental repr in logs
        return "FhirAuthorization(access_token=***)"

    __str__ = __repr__

    model_config = ConfigDict(alias_generator=None, populate_by_name=True, extra="ignore")


class PatientViewContext(WireModel):
    """Context of the patient-view hook (hook library 1.0.1)."""

    user_id: str = Field(pattern=USER_ID_PATTERN)
    patient_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-\.]{1,64}$")
    encounter_id: str | None = Field(default=None, min_length=1)


ORDER_USER_ID_PATTERN = r"^(Practitioner|PractitionerRole)/[^/\s]+$"


class OrderSignContext(PatientViewContext):
    """Context of order-sign (hook library 1.0.1): ``draftOrders`` is a Bundle of the session's unsigned orders.

    The user of an order hook is a Practitioner or a PractitionerRole.
    """

    user_id: str = Field(pattern=ORDER_USER_ID_PATTERN)
    draft_orders: dict[str, Any]

    @field_validator("draft_orders")
    @classmethod
    def _is_bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("draftOrders must be a FHIR Bundle")
        return value

    def draft_resources(self) -> list[dict[str, Any]]:
        """The resources of ``draftOrders`` that have a type and an id; odd entries are skipped, not refused."""
        entries = self.draft_orders.get("entry")
        out = []
        for entry in entries if isinstance(entries, list) else ():
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if (
                isinstance(resource, dict)
                and isinstance(resource.get("resourceType"), str)
                and isinstance(resource.get("id"), str)
                and resource["id"]
            ):
                out.append(resource)
        return out

    def in_scope(self) -> list[dict[str, Any]]:
        """The drafts the service decides about: every one for order-sign."""
        return self.draft_resources()


class OrderSelectContext(OrderSignContext):
    """Context of order-select (hook library 1.0.1): ``selections`` name the newly selected drafts."""

    selections: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _selections_resolve(self) -> OrderSelectContext:
        known = {f"{r['resourceType']}/{r['id']}" for r in self.draft_resources()}
        if any(selection not in known for selection in self.selections):
            raise ValueError("every entry of selections must name a resource in draftOrders (Type/id)")
        return self

    def in_scope(self) -> list[dict[str, Any]]:
        """Only the selected drafts (the others are context for the decision, not its subject)."""
        chosen = set(self.selections)
        return [r for r in self.draft_resources() if f"{r['resourceType']}/{r['id']}" in chosen]


class HookRequest(WireModel):
    """A service invocation (spec section C)."""

    hook: str = Field(min_length=1)
    hook_instance: str = Field(min_length=1, max_length=256)
    fhir_server: str | None = Field(default=None, pattern=r"^https?://\S+$")
    fhir_authorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _auth_needs_server(self) -> HookRequest:
        if self.fhir_authorization is not None and not self.fhir_server:
            raise ValueError("fhirAuthorization requires fhirServer")
        return self

    @field_validator("fhir_server")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value


class OrderSignRequest(HookRequest):
    """An order-sign invocation."""

    context: OrderSignContext


class OrderSelectRequest(HookRequest):
    """An order-select invocation."""

    context: OrderSelectContext


class Coding(WireModel):
    system: str
    code: str
    display: str | None = None


class Source(WireModel):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Link(WireModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]  # required on the wire (H12): no default, so never dropped
    app_context: str | None = None


class Action(WireModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = None


class Suggestion(WireModel):
    label: str
    uuid: str | None = None
    is_recommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Card(WireModel):
    uuid: str | None = None
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] = Field(default_factory=list)
    selection_behavior: Literal["at-most-one", "any"] | None = None
    override_reasons: list[Coding] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


class HookResponse(WireModel):
    cards: list[Card]  # no default: an empty list is still written (G2)


class OrderHookResponse(HookResponse):
    """The order hooks' answer: cards plus the PAMA ratings as ``update`` actions.

    ``systemActions`` is the CDS Hooks 2.0 member (I1); the Argonaut PAMA guidance and the CDS Hooks sandbox
    read the same list from ``extension.systemActions``, so it is sent in both places.
    """

    system_actions: list[Action] = Field(default_factory=list)
    extension: dict[str, Any] | None = None

    @classmethod
    def answer(cls, cards: list[Card], actions: list[Action]) -> OrderHookResponse:
        """``cards`` and ``actions``, the actions in both places the clients read them."""
        copies = [a.model_dump(by_alias=True, exclude_none=True) for a in actions]
        return cls(cards=cards, system_actions=actions, extension={"systemActions": copies} if copies else None)


class ServiceDefinition(WireModel):
    """One entry of the discovery document (spec B4)."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] = Field(default_factory=dict)
    usage_requirements: str | None = None


class DiscoveryResponse(WireModel):
    services: list[ServiceDefinition]


def _plain_text(value: str) -> str:
    """Refuse NUL and other control characters (tab, newline and carriage return excepted).

    PostgreSQL cannot store NUL in text and SQLite would; refusing them here makes every back-end
    answer the same 400 instead of a 500 that a retrying EHR would resend forever.
    """
    if any((ord(ch) < 0x20 and ch not in "\t\n\r") or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise ValueError("contains NUL or other control characters")
    return value


_Plain = AfterValidator(_plain_text)
# Lengths follow the feedback table's columns (service/storage/schema.py); the comment is Text, bounded here.
CardRef = Annotated[str, Field(min_length=1, max_length=256), _Plain]
SystemText = Annotated[str, Field(max_length=512), _Plain]
CodeText = Annotated[str, Field(max_length=256), _Plain]
DisplayText = Annotated[str, Field(max_length=512), _Plain]
CommentText = Annotated[str, Field(max_length=4000), _Plain]
SuggestionRef = Annotated[str, Field(min_length=1, max_length=256), _Plain]
HookInstanceText = Annotated[str, Field(max_length=256), _Plain]
MAX_ACCEPTED_SUGGESTIONS = 100


class FeedbackCoding(WireModel):
    system: SystemText
    code: CodeText
    display: DisplayText | None = None


class OverrideReasonFeedback(WireModel):
    reason: FeedbackCoding | None = None
    user_comment: CommentText | None = None


class AcceptedSuggestion(WireModel):
    id: SuggestionRef


class FeedbackItem(WireModel):
    """One feedback entry (spec J3)."""

    card: CardRef
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: list[AcceptedSuggestion] | None = Field(
        default=None, max_length=MAX_ACCEPTED_SUGGESTIONS
    )
    override_reason: OverrideReasonFeedback | None = None
    outcome_timestamp: datetime

    @field_validator("outcome_timestamp")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        """The instant in UTC; a value that has no UTC form (year 1 east of Greenwich, 9999 west) is refused."""
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("outcomeTimestamp is outside the representable range") from exc

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.accepted_suggestions:
            raise ValueError("acceptedSuggestions is required for accepted outcomes")
        return self


class FeedbackRequest(WireModel):
    """The item count is bounded by ``feedback_max_items`` before this model is built (413 beyond)."""

    feedback: list[FeedbackItem] = Field(min_length=1)
    hook_instance: HookInstanceText | None = None


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {} and v != ""}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def dump_clean(model: BaseModel, *, keep_empty: frozenset[str] = frozenset({"cards", "services"})) -> Any:
    """Dump to wire JSON, dropping null/empty optional members but keeping top-level ``cards: []``."""
    raw = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    cleaned = _clean(raw)
    for key in keep_empty:
        if key in raw and key not in cleaned:
            cleaned[key] = raw[key]
    return cleaned


def wire_json(model: BaseModel) -> bytes:
    """Wire JSON straight from pydantic's serializer: optional members left unset are omitted.

    Every optional member of the response models defaults to ``None`` or an empty list, and every
    required one has no default, so ``exclude_defaults`` gives the same document as :func:`dump_clean`
    without walking it in Python (a test checks both agree on every fixture case).
    """
    return model.model_dump_json(by_alias=True, exclude_defaults=True).encode()


def response_json(cards: Sequence[dict[str, Any]]) -> bytes:
    """``{"cards": [...]}`` from cards already in wire form (``service.render.render_wire``), with orjson.

    The same bytes as ``wire_json(HookResponse(cards=...))`` of the equal wire models (a test checks every
    fixture case); ``cards`` may be empty.
    """
    return orjson.dumps({"cards": cards})
