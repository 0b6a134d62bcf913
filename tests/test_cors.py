"""CORS for browser clients such as the CDS Hooks sandbox (spec L1-L3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# The edge layer answers exactly as Starlette's CORSMiddleware with the same policy (the middleware it replaced).
_VARY_APP_HEADERS = [
    [(b"content-type", b"application/json")],
    [(b"vary", b"Accept-Encoding"), (b"x-a", b"1")],
    [(b"access-control-allow-origin", b"https://x.example"), (b"vary", b"A"), (b"x-a", b"1"), (b"vary", b"B")],
]
_REQUESTS = [
    ("GET", []),
    ("GET", [(b"origin", ORIGIN.encode())]),
    ("GET", [(b"origin", b"https://sandbox.cds-hooks.org")]),
    ("GET", [(b"origin", b"https://evil.example"), (b"origin", b"https://sandbox.cds-hooks.org")]),
    ("POST", [(b"origin", b"https://sandbox.cds-hooks.org"), (b"content-type", b"application/json")]),
    ("OPTIONS", [(b"origin", ORIGIN.encode())]),  # no Access-Control-Request-Method: not a preflight
    ("OPTIONS", [(b"access-control-request-method", b"POST")]),  # no Origin: not a preflight
    *(
        ("OPTIONS", [(b"origin", origin), (b"access-control-request-method", method), *extra])
        for origin in (ORIGIN.encode(), b"https://sandbox.cds-hooks.org", b"https://evil.example")
        for method in (b"POST", b"GET", b"DELETE")
        for extra in (
            [],
            [(b"access-control-request-headers", b"authorization,content-type")],
            [(b"access-control-request-headers", b"Authorization, Content-Type, Accept")],
            [(b"access-control-request-headers", b"x-secret")],
            [(b"access-control-request-private-network", b"true")],
        )
    ),
]


async def _drive(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> list[Any]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": "/cds-services", "raw_path": b"/cds-services", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append((message["type"], message.get("status"), list(message.get("headers", [])),
                     message.get("body")))

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
@pytest.mark.parametrize("app_headers", _VARY_APP_HEADERS, ids=["plain", "with-vary", "with-origin-and-two-vary"])
def test_edge_layer_answers_as_starlette_cors_middleware(production: bool, app_headers: list[Any]) -> None:
    import asyncio

    from starlette.middleware.cors import CORSMiddleware

    from service.api.cors import CorsPolicy
    from service.api.edge import CORS_HEADERS, CORS_MAX_AGE, CORS_METHODS, EdgeLayer
    from service.security.limits import BodyLimit

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(app_headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    origins = ["https://sandbox.cds-hooks.org"] if production else ["*"]
    reference = CORSMiddleware(endpoint, allow_origins=origins, allow_methods=list(CORS_METHODS),
                               allow_headers=list(CORS_HEADERS), max_age=CORS_MAX_AGE)
    edge = EdgeLayer(endpoint, CorsPolicy(origins, CORS_METHODS, CORS_HEADERS, CORS_MAX_AGE), BodyLimit(1024))
    for method, headers in _REQUESTS:
        expected = asyncio.run(_drive(reference, method, headers))
        assert asyncio.run(_drive(edge, method, headers)) == expected, (method, headers)
