"""K13: the example token printed in CDS Hooks 2.0.1, "Trusting CDS Clients" (facts: token and public JWK).

Its signature is genuine, so it proves our key handling and ES384 verification interoperate with the
specification; it expired in 2015 and lives ~3.5 years, so the service must still answer 401.
"""

from __future__ import annotations

import jwt
import pytest

from service.errors import Unauthorized
from service.security.jwt import Authenticator
from service.security.replay import InMemoryReplayCache
from service.settings import TrustedIssuer
from tests.support.tokens import JwksServer, settings_for

SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0"
    ".eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0"
    ".d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb"
)
SPEC_JWK = {
    "kty": "EC",
    "use": "sig",
    "crv": "P-384",
    "kid": "example-kid",
    "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
    "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
    "alg": "ES384",
}
SPEC_ISS = "https://fhir-ehr.example.com/"
SPEC_JKU = "https://fhir-ehr.example.com/jwk_uri"
SPEC_TENANT = "2ddd6c3a-8e9a-44c6-a305-52111ad302a2"


def test_K13_spec_example_signature_verifies() -> None:
    verified = jwt.decode(
        SPEC_TOKEN,
        key=jwt.PyJWK(SPEC_JWK, algorithm="ES384"),
        algorithms=["ES384"],
        audience="https://cds.example.org/cds-services/some-service",
        options={"verify_exp": False},
    )
    assert verified["jti"] == "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e"
    assert verified["tenant"] == SPEC_TENANT


async def test_K13_spec_example_token_rejected_as_expired() -> None:
    jwks = JwksServer({SPEC_JKU: {"keys": [SPEC_JWK]}})
    issuer = TrustedIssuer(iss=SPEC_ISS, jku=[SPEC_JKU], tenant=SPEC_TENANT)
    auth = Authenticator(
        settings_for(issuer, public_base_url="https://cds.example.org"), InMemoryReplayCache(), jwks.client()
    )
    with pytest.raises(Unauthorized) as caught:
        await auth.authenticate(f"Bearer {SPEC_TOKEN}", "/cds-services/some-service")
    assert caught.value.status_code == 401
    # Every pre-signature check passed and the key was fetched from the allowlisted jku ...
    assert jwks.fetched == [SPEC_JKU]
    # ... and the failing check is expiry (PyJWT checks exp after the signature).
    assert "ExpiredSignatureError" in caught.value.reason
    assert SPEC_TOKEN.split(".")[2] not in caught.value.reason
