"""Whether we may call the request's ``fhirServer`` at all, and with which token (spec F7-F9).

The server URL comes from the caller, so in production it must be on an allowlist (against SSRF),
a bearer token never goes over plain http, and a server without ``fhirAuthorization`` is queried
anonymously only in the development profile, and there only while ``fhir_allow_anonymous`` allows it
(the public sandbox sends no token).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError
from service.fhir.client import FhirServer
from service.settings import Settings


def _allowed(url: str, allowlist: list[str]) -> bool:
    for entry in allowlist:
        base = entry.rstrip("/")
        if url == base or url.startswith(base + "/"):
            return True
    return False


def fhir_server_for(request: HookRequest, settings: Settings) -> FhirServer:
    """The server and token to use for this request's callbacks.

    Raises:
        FhirAccessError: when policy forbids calling the server; the message says which rule.
    """
    url = request.fhir_server
    if not url:
        raise FhirAccessError("the request names no fhirServer")
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise FhirAccessError("fhirServer is not an http(s) URL")
    if (settings.is_production or settings.fhir_server_allowlist) and not _allowed(url, settings.fhir_server_allowlist):
        raise FhirAccessError("fhirServer is not on the configured allowlist")
    auth = request.fhir_authorization
    if auth is None:
        if settings.is_production or not settings.anonymous_fhir_allowed:
            raise FhirAccessError("no fhirAuthorization, and anonymous FHIR access is disabled")
        return FhirServer(url)
    if settings.is_production and scheme != "https":
        raise FhirAccessError("a bearer token is never sent to an http:// fhirServer in production")
    return FhirServer(url, auth.access_token)
