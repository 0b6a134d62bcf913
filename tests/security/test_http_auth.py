"""End to end: every CDS Hooks endpoint answers a bad token with a bare 401 and logs why, once.

The app runs in the production profile with one trusted issuer whose keys are inline (no fetch).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from service.settings import TrustedIssuer
from tests.support.app import SERVICE_URL, client_for, hook_request, settings_for
from tests.support.tokens import BASE, ISS, claims, ec_key, forge, mint, public_jwk

FEEDBACK_URL = SERVICE_URL + "/feedback"
FEEDBACK = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/cds-services", None),
    ("POST", SERVICE_URL, hook_request()),
    ("POST", FEEDBACK_URL, FEEDBACK),
]
NOW = int(time.time())
BAD_TOKENS: dict[str, Callable[[str], str | None]] = {
    "missing": lambda path: None,
    "garbage": lambda path: "Bearer not.a.jwt",
    "basic": lambda path: "Basic dXNlcjpwYXNz",
    "expired": lambda path: "Bearer " + mint(ec_key(), claims(path, iat=NOW - 900, exp=NOW - 600)),
    "wrong_aud": lambda path: "Bearer " + mint(ec_key(), claims("/cds-services/other")),
    "alg_none": lambda path: "Bearer " + forge({"alg": "none", "typ": "JWT", "kid": "k1"}, claims(path)),
    "unknown_iss": lambda path: "Bearer " + mint(ec_key(), claims(path, iss="https://evil.example")),
    "wrong_key": lambda path: "Bearer " + mint(ec_key("intruder"), claims(path)),
}

LOGGED_REASON = {
    "missing": "no Authorization header",
    "garbage": "malformed token",
    "basic": "not a Bearer token",
    "expired": "ExpiredSignatureError",
    "wrong_aud": "InvalidAudienceError",
    "alg_none": "algorithm 'none' not allowed",
    "unknown_iss": "is not trusted",
    "wrong_key": "signature does not verify",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    settings = settings_for(tmp_path, profile="production", public_base_url=BASE, trusted_issuers=[issuer])
    with client_for(settings) as test_client:
        yield test_client


def call(client: TestClient, method: str, path: str, body: Any, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization else {}
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=["discovery", "service", "feedback"])
def test_K2_G5_bad_token_gives_bare_401_on_every_endpoint(
    client: TestClient, method: str, path: str, body: Any, bad: str
) -> None:
    authorization = BAD_TOKENS[bad](path)
    with capture_logs() as entries:
        response = call(client, method, path, body, authorization)
    assert response.status_code == 401
    assert response.content == b""  # nothing about which check failed
    assert set(response.headers) <= {"www-authenticate", "content-length", "vary", "content-type"}
    assert response.headers.get("www-authenticate") == "Bearer"
    logged = json.dumps(entries)
    rejections = [entry for entry in entries if entry["event"] == "auth.rejected"]
    assert len(rejections) == 1 and LOGGED_REASON[bad] in rejections[0]["reason"]  # the log says which check
    assert LOGGED_REASON[bad] not in response.text
    if authorization and authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ")
        signature = token.split(".")[-1]
        assert token not in logged
        assert len(signature) < 20 or signature not in logged  # not even the signature alone


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=["discovery", "service", "feedback"])
def test_K6_valid_token_for_the_called_url_accepted(client: TestClient, method: str, path: str, body: Any) -> None:
    response = call(client, method, path, body, "Bearer " + mint(ec_key(), claims(path)))
    assert response.status_code == 200


def test_K11_replayed_token_rejected_over_http(client: TestClient) -> None:
    authorization = "Bearer " + mint(ec_key(), claims("/cds-services"))
    assert call(client, "GET", "/cds-services", None, authorization).status_code == 200
    replay = call(client, "GET", "/cds-services", None, authorization)
    assert (replay.status_code, replay.content) == (401, b"")


def test_limits_answer_before_authentication(client: TestClient) -> None:
    authorization = "Bearer " + mint(ec_key(), claims(SERVICE_URL))
    big = client.post(SERVICE_URL, content=b" " * (6 * 1024 * 1024), headers={"Authorization": authorization})
    assert big.status_code == 415  # no JSON content type: refused before the body is even read
    too_large = client.post(
        SERVICE_URL,
        content=b" " * (6 * 1024 * 1024),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert too_large.json()["issue"][0]["code"] == "too-costly"
