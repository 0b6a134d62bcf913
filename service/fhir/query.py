"""Prefetch templates turned into concrete FHIR queries (spec E1-E3).

Templates are written unencoded (``code=http://loinc.org|1234-5``); values are percent-encoded here
(``|`` as ``%7C``), because some servers reject the raw character (legacy-sandbox#64).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from service.cdshooks.models import PatientViewContext

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class TemplateError(ValueError):
    """Raised when a template names a token the context cannot fill (e.g. no encounter in context)."""


@dataclass(frozen=True)
class FhirQuery:
    """A read (``id`` set) or a type-level search (``params``) relative to a FHIR base URL."""

    resource_type: str
    id: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def is_read(self) -> bool:
        return self.id is not None

    def relative_url(self) -> str:
        if self.id is not None:
            return f"{self.resource_type}/{quote(self.id, safe='')}"
        if not self.params:
            return self.resource_type
        query = "&".join(f"{quote(k, safe=':_-.')}={quote(v, safe=',')}" for k, v in self.params)
        return f"{self.resource_type}?{query}"


def token_values(context: PatientViewContext) -> dict[str, str]:
    """Every token the patient-view context can fill."""
    values = {"context.patientId": context.patient_id, "context.userId": context.user_id}
    if context.encounter_id:
        values["context.encounterId"] = context.encounter_id
    user_type, _, user_id = context.user_id.partition("/")
    for token, resource_type in _USER_TOKENS.items():
        if user_type == resource_type:
            values[token] = user_id
    return values


def _fill(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"token {{{{{name}}}}} has no value in this context")
        return values[name]

    return _TOKEN.sub(one, text)


def render(template: str, context: PatientViewContext) -> FhirQuery:
    """The query ``template`` stands for in ``context``.

    A bare patient id in a ``patient`` parameter is written as ``Patient/<id>``: every server accepts
    the reference form, some (Medplum) accept nothing else.
    """
    values = token_values(context)
    path, _, query = template.partition("?")
    segments = [_fill(s, values) for s in path.strip("/").split("/")]
    if len(segments) == 2 and not query:
        return FhirQuery(segments[0], id=segments[1])
    if len(segments) != 1 or not segments[0]:
        raise TemplateError(f"template path {path!r} is neither a read nor a type-level search")
    params: list[tuple[str, str]] = []
    for part in filter(None, query.split("&")):
        name, _, raw = part.partition("=")
        value = _fill(raw, values)
        if name.split(":")[0] == "patient" and "/" not in value:
            value = f"Patient/{value}"
        params.append((name, value))
    return FhirQuery(segments[0], params=tuple(params))
