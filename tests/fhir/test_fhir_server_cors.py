"""The Medplum test server can be used from the CDS Hooks sandbox, which reads FHIR from the browser."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_fhir_test_server_answers_browser_preflight_for_the_sandbox(fhir_server):
    import httpx

    preflight = httpx.options(fhir_server.base_url + "/Patient", headers={
        "Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    metadata = httpx.get(fhir_server.base_url + "/metadata", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert preflight.status_code == 204
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert metadata.headers["access-control-allow-origin"] == "*"
    assert metadata.json()["fhirVersion"] == "4.0.1"
