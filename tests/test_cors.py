"""CORS for browser clients such as the CDS Hooks sandbox (spec L1-L3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app import SERVICE_URL, client_for, hook_request, settings_for

ORIGIN = "http://127.0.0.1:8080"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


@pytest.mark.parametrize("path", ["/cds-services", SERVICE_URL, SERVICE_URL + "/feedback"])
def test_L3_preflight_allows_authorization_and_content_type(tmp_path: Path, path: str) -> None:
    with client_for(settings_for(tmp_path)) as client:
        response = client.options(path, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_L3_success_and_error_responses_carry_cors_headers(tmp_path: Path) -> None:
    headers = {"Origin": ORIGIN}
    with client_for(settings_for(tmp_path)) as client:
        ok = client.post(SERVICE_URL, json=hook_request(), headers=headers)
        bad = client.post(SERVICE_URL, content=b"{", headers={**headers, "content-type": "application/json"})
        missing = client.post("/cds-services/nope", json=hook_request(), headers=headers)
        body = hook_request()
        del body["prefetch"]
        precondition = client.post(SERVICE_URL, json=body, headers=headers)
    for response, status in ((ok, 200), (bad, 400), (missing, 404), (precondition, 412)):
        assert response.status_code == status
        assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)


def test_L3_production_allows_only_configured_origins(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        profile="production",
        cors_origins="https://sandbox.cds-hooks.org",
        public_base_url="https://cds.example.org",  # production refuses to start without these (issue 5)
        trusted_issuers=[{"iss": "https://ehr.example.org", "jwks": {"keys": []}}],
    )
    with client_for(settings) as client:
        allowed = client.options("/cds-services", headers={**PREFLIGHT, "Origin": "https://sandbox.cds-hooks.org"})
        denied = client.options("/cds-services", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    assert "access-control-allow-origin" not in denied.headers


def test_unhandled_error_is_500_operation_outcome_with_cors(tmp_path: Path, monkeypatch) -> None:
    import service.api.hooks as hooks

    def boom(*_args, **_kwargs):
        raise RuntimeError("secret patient detail")

    monkeypatch.setattr(hooks, "evaluate", boom)
    with client_for(settings_for(tmp_path)) as client:
        response = client.post(SERVICE_URL, json=hook_request(), headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)
