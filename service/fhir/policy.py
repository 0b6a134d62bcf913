"""Whether we may call the request's ``fhirServer`` at all, and with which token (spec F7-F9).

The server URL comes from the caller, so it is parsed once into scheme + host + port + path segments
(:class:`BaseUrl`) and every decision compares those parts, never raw string prefixes: an allowlist
entry ``https://ehr.example/fhir`` admits ``https://ehr.example:443/fhir/tenant-1`` and refuses
``https://ehr.example/fhir-other``, ``https://ehr.example.evil/fhir`` and ``.../fhir/../admin``.

- Production: the server must be on the allowlist, a token never goes over plain http, and anonymous
  queries are refused.
- Development: without an allowlist only loopback servers are called (the sandbox and the test
  servers run there); with one, the allowlist decides. A token never goes over http:// to a host that is
  not loopback, in any profile.
"""

from __future__ import annotations

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError
from service.fhir.base_url import InvalidBaseUrl, parse_base_url
from service.fhir.client import FhirServer
from service.settings import Settings


def fhir_server_for(request: HookRequest, settings: Settings) -> FhirServer:
    """The server and token to use for this request's callbacks.

    Raises:
        FhirAccessError: when policy forbids calling the server; the message says which rule.
    """
    url = request.fhir_server
    if not url:
        raise FhirAccessError("the request names no fhirServer")
    try:
        base = parse_base_url(url)
    except InvalidBaseUrl as exc:
        raise FhirAccessError(f"fhirServer is not a usable FHIR base URL: it {exc}") from exc
    allowlist = settings.parsed_fhir_allowlist
    if settings.is_production or allowlist:
        if not any(entry.contains(base) for entry in allowlist):
            raise FhirAccessError("fhirServer is not on the configured allowlist")
    elif not base.is_loopback:
        raise FhirAccessError(
            "fhirServer is not a loopback server, and no allowlist is set (development profile)"
        )
    auth = request.fhir_authorization
    if auth is None:
        if settings.is_production or not settings.anonymous_fhir_allowed:
            raise FhirAccessError("no fhirAuthorization, and anonymous FHIR access is disabled")
        return FhirServer(url)
    if base.scheme != "https":
        if settings.is_production:
            raise FhirAccessError("a bearer token is never sent to an http:// fhirServer in production")
        if not base.is_loopback:
            raise FhirAccessError("a bearer token is never sent over http:// to a non-loopback fhirServer")
    return FhirServer(url, auth.access_token)
