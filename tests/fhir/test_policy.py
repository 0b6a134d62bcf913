"""Which FHIR servers we call, with which token (decisions F7, F8, F9)."""

from __future__ import annotations

from typing import Any

import pytest

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError
from service.fhir.client import FhirServer
from service.fhir.policy import fhir_server_for
from service.settings import Settings

AUTH = {
    "access_token": "secret-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "x",
    "subject": "s",
}


def request(fhir_server: str | None, auth: bool) -> HookRequest:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "h-1",
        "context": {"userId": "Practitioner/d1", "patientId": "p1"},
    }
    if fhir_server:
        body["fhirServer"] = fhir_server
    if auth:
        body["fhirAuthorization"] = AUTH
    return HookRequest.model_validate(body)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_no_fhir_server_is_refused():
    with pytest.raises(FhirAccessError, match="names no fhirServer"):
        fhir_server_for(request(None, auth=False), settings())


def test_F8_development_queries_anonymously():
    server = fhir_server_for(request("http://localhost:8080/fhir", auth=False), settings())
    assert server == FhirServer("http://localhost:8080/fhir")


def test_F8_production_refuses_anonymous_queries():
    prod = settings(profile="production", fhir_server_allowlist=["https://ehr.example/fhir"])
    with pytest.raises(FhirAccessError, match="anonymous"):
        fhir_server_for(request("https://ehr.example/fhir", auth=False), prod)


def test_F8_production_refuses_anonymous_queries_even_when_switched_on():
    prod = settings(profile="production", fhir_allow_anonymous=True, fhir_server_allowlist=["https://ehr.example/fhir"])
    with pytest.raises(FhirAccessError, match="anonymous"):
        fhir_server_for(request("https://ehr.example/fhir", auth=False), prod)


def test_F8_anonymous_can_be_switched_off_in_development():
    with pytest.raises(FhirAccessError, match="anonymous"):
        fhir_server_for(request("http://localhost/fhir", auth=False), settings(fhir_allow_anonymous=False))


def test_F9_production_requires_the_allowlist():
    prod = settings(profile="production", fhir_server_allowlist=["https://ehr.example/fhir"])
    with pytest.raises(FhirAccessError, match="allowlist"):
        fhir_server_for(request("https://evil.example/fhir", auth=True), prod)
    with pytest.raises(FhirAccessError, match="allowlist"):
        fhir_server_for(request("https://ehr.example/fhir-other", auth=True), prod)
    server = fhir_server_for(request("https://ehr.example/fhir/tenant-1", auth=True), prod)
    assert server.token == "secret-token"


def test_F9_production_with_empty_allowlist_calls_nothing():
    with pytest.raises(FhirAccessError, match="allowlist"):
        fhir_server_for(request("https://ehr.example/fhir", auth=True), settings(profile="production"))


def test_F7_production_never_sends_a_token_over_http():
    prod = settings(profile="production", fhir_server_allowlist=["http://ehr.example/fhir"])
    with pytest.raises(FhirAccessError, match="http://"):
        fhir_server_for(request("http://ehr.example/fhir", auth=True), prod)


def test_development_sends_the_token_over_http_for_local_servers():
    server = fhir_server_for(request("http://localhost:8080/fhir", auth=True), settings())
    assert server.token == "secret-token"
    assert "secret-token" not in repr(server)


def test_development_without_an_allowlist_calls_only_loopback_servers():
    for url in ("http://ehr.example/fhir", "https://10.0.0.8/fhir", "http://127.0.0.1.nip.io/fhir"):
        with pytest.raises(FhirAccessError, match="not a loopback server"):
            fhir_server_for(request(url, auth=False), settings())
    for url in ("http://127.0.0.1:8103/fhir", "http://[::1]:8103/fhir", "http://LOCALHOST/fhir"):
        assert fhir_server_for(request(url, auth=False), settings()).base_url == url


def test_F7_development_never_sends_a_token_over_http_to_a_non_loopback_host():
    dev = settings(fhir_server_allowlist=["http://ehr.example/fhir", "https://ehr.example/fhir"])
    with pytest.raises(FhirAccessError, match="non-loopback"):
        fhir_server_for(request("http://ehr.example/fhir", auth=True), dev)
    assert fhir_server_for(request("http://ehr.example/fhir", auth=False), dev).token is None
    assert fhir_server_for(request("https://ehr.example/fhir", auth=True), dev).token == "secret-token"
