"""Discovery and service URLs typed with a trailing slash reach the service (the sandbox's ``…//<id>``).

The CDS Hooks sandbox appends ``/<id>`` to the discovery URL as typed, so ``http://host/cds-services/``
makes it call ``/cds-services//back-pain-red-flags`` and sign ``aud`` with that exact URL (spec B1, C1, K6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.api.paths import canonical
from service.settings import TrustedIssuer
from tests.support.app import client_for, hook_request
from tests.support.app import settings_for as app_settings
from tests.support.tokens import BASE, ISS, claims, ec_key, mint, public_jwk

SERVICE_ID = "back-pain-red-flags"


@pytest.fixture
def client(tmp_path: Path):
    with client_for(app_settings(tmp_path)) as c:
        yield c


@pytest.mark.parametrize("path", ["/cds-services", "/cds-services/", "/cds-services//"])
def test_B1_discovery_with_and_without_trailing_slash(client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["services"]] == [SERVICE_ID]


@pytest.mark.parametrize(
    "path",
    [f"/cds-services/{SERVICE_ID}", f"/cds-services//{SERVICE_ID}", f"/cds-services/{SERVICE_ID}/"],
)
def test_C1_service_reached_with_doubled_or_trailing_slash(client, path: str) -> None:
    response = client.post(path, json=hook_request(), follow_redirects=False)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_C1_feedback_reached_with_doubled_slash(client) -> None:
    item = {"card": "9b0f4f64-3c1e-4d8e-b7f3-6d2f51a0a9e1", "outcome": "overridden",
            "outcomeTimestamp": "2026-11-25T10:00:00Z"}
    response = client.post(f"/cds-services//{SERVICE_ID}/feedback", json={"feedback": [item]})
    assert response.status_code == 200


def test_C1_unknown_service_still_404_with_doubled_slash(client) -> None:
    assert client.post("/cds-services//nope", json=hook_request()).status_code == 404


def test_other_paths_are_not_rewritten() -> None:
    assert canonical("/healthz/") == "/healthz/"
    assert canonical("/cds-servicesX//a") == "/cds-servicesX//a"
    assert canonical("//cds-services//a/") == "/cds-services/a"


def test_K6_aud_is_checked_against_the_path_as_called(tmp_path: Path) -> None:
    """A token for ``…//id`` is accepted on ``…//id`` and refused on ``…/id`` (aud is the exact URL)."""
    key = ec_key("slash")
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(key, "k1", "ES384")]})
    settings = app_settings(tmp_path, public_base_url=BASE, trusted_issuers=[issuer])
    doubled = f"/cds-services//{SERVICE_ID}"
    with client_for(settings) as c:
        good = mint(key, claims(doubled))
        assert c.post(doubled, json=hook_request(), headers={"Authorization": f"Bearer {good}"}).status_code == 200
        other = mint(key, claims(doubled))
        headers = {"Authorization": f"Bearer {other}"}
        single = c.post(f"/cds-services/{SERVICE_ID}", json=hook_request(), headers=headers)
        assert single.status_code == 401
