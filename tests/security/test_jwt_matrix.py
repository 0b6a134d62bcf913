"""The JWT test matrix of issue 5, against the Authenticator directly (fast, no HTTP app).

Each case states the status the HTTP layer gives: claims returned -> the call proceeds (200),
``Unauthorized`` -> bare 401. The reason is asserted too, to prove the intended check fired.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from service.errors import Unauthorized
from service.security.jwt import Authenticator
from service.security.replay import InMemoryReplayCache
from service.settings import TrustedIssuer
from tests.support.tokens import (
    BASE,
    ISS,
    JKU,
    SERVICE_PATH,
    JwksServer,
    claims,
    ec_key,
    forge,
    mint,
    public_jwk,
    public_pem,
    rsa_key,
    settings_for,
)


@pytest.fixture
def jwks() -> JwksServer:
    return JwksServer({JKU: {"keys": [public_jwk(ec_key(), "k1", "ES384"), public_jwk(rsa_key(), "r1", "RS384")]}})


@pytest.fixture
def auth(jwks: JwksServer) -> Authenticator:
    issuer = TrustedIssuer(iss=ISS, jwks_url=JKU, jku=[JKU])
    return Authenticator(settings_for(issuer), InMemoryReplayCache(), jwks.client())


async def rejected(auth: Authenticator, token: str, path: str = SERVICE_PATH) -> str:
    """Assert a 401 and return the logged reason."""
    with pytest.raises(Unauthorized) as caught:
        await auth.authenticate(f"Bearer {token}", path)
    assert caught.value.status_code == 401
    assert caught.value.message == "Unauthorized"  # what a client could ever see
    return caught.value.reason


async def test_K10_valid_es384_accepted(auth: Authenticator) -> None:
    payload = claims()
    verified = await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH)
    assert verified == payload


async def test_K10_valid_rs384_accepted(auth: Authenticator) -> None:
    payload = claims()
    token = mint(rsa_key(), payload, alg="RS384", kid="r1")
    assert await auth.authenticate(f"Bearer {token}", SERVICE_PATH) == payload


async def test_K9_alg_none_rejected(auth: Authenticator) -> None:
    token = forge({"alg": "none", "typ": "JWT", "kid": "k1"}, claims())
    assert "algorithm 'none' not allowed" in await rejected(auth, token)


async def test_K9_hs256_signed_with_public_key_as_secret_rejected(auth: Authenticator) -> None:
    token = forge({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), hmac_secret=public_pem(ec_key()))
    assert "algorithm 'HS256' not allowed" in await rejected(auth, token)


async def test_K11_expired_rejected(auth: Authenticator) -> None:
    now = int(time.time())
    token = mint(ec_key(), claims(iat=now - 600, exp=now - 120))  # beyond the 60 s leeway
    assert "ExpiredSignatureError" in await rejected(auth, token)


async def test_K11_expired_within_leeway_accepted(auth: Authenticator) -> None:
    now = int(time.time())
    payload = claims(iat=now - 300, exp=now - 10)
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH) == payload


async def test_K5_iat_in_future_rejected(auth: Authenticator) -> None:
    now = int(time.time())
    token = mint(ec_key(), claims(iat=now + 600, exp=now + 900))
    assert "ImmatureSignatureError" in await rejected(auth, token)


async def test_K5_lifetime_over_cap_rejected(auth: Authenticator) -> None:
    now = int(time.time())
    token = mint(ec_key(), claims(iat=now, exp=now + 3601))
    assert "over the cap" in await rejected(auth, token)


async def test_K5_lifetime_at_cap_accepted(auth: Authenticator) -> None:
    now = int(time.time())
    payload = claims(iat=now, exp=now + 3600)
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH) == payload


async def test_K6_wrong_aud_rejected(auth: Authenticator) -> None:
    token = mint(ec_key(), claims(aud=BASE + "/cds-services/another-service"))
    assert "InvalidAudienceError" in await rejected(auth, token)


async def test_K6_array_aud_containing_right_url_accepted(auth: Authenticator) -> None:
    payload = claims(aud=["https://elsewhere.example/cds-services", BASE + SERVICE_PATH])
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH) == payload


@pytest.mark.parametrize("path", ["/cds-services", SERVICE_PATH + "/feedback"])
async def test_B7_J5_aud_is_base_plus_called_path(auth: Authenticator, path: str) -> None:
    payload = claims(path=path)
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", path) == payload
    assert "InvalidAudienceError" in await rejected(auth, mint(ec_key(), claims(path=path)), SERVICE_PATH)


async def test_K7_unknown_iss_rejected(auth: Authenticator, jwks: JwksServer) -> None:
    token = mint(ec_key(), claims(iss="https://evil.example"), jku=JKU)
    assert "is not trusted" in await rejected(auth, token)
    assert jwks.fetched == []


async def test_K7_jku_not_on_allowlist_rejected_and_never_fetched(auth: Authenticator, jwks: JwksServer) -> None:
    evil = "https://evil.example/jwks.json"
    jwks.sets[evil] = {"keys": [public_jwk(ec_key("evil"), "k1", "ES384")]}
    token = mint(ec_key("evil"), claims(), jku=evil)
    assert "not allowlisted" in await rejected(auth, token)
    assert evil not in jwks.fetched
    assert jwks.fetched == []


async def test_K8_unknown_kid_then_key_rotation_accepted(auth: Authenticator, jwks: JwksServer) -> None:
    assert await auth.authenticate(f"Bearer {mint(ec_key(), claims())}", SERVICE_PATH) is not None
    jwks.sets[JKU] = {"keys": [public_jwk(ec_key("rotated"), "k2", "ES384")]}  # the client rotates
    payload = claims()
    assert await auth.authenticate(f"Bearer {mint(ec_key('rotated'), payload, kid='k2')}", SERVICE_PATH) == payload
    assert jwks.fetched == [JKU, JKU]  # first fetch, then exactly one refetch for the unknown kid


async def test_K8_unknown_kid_refetch_is_rate_limited(auth: Authenticator, jwks: JwksServer) -> None:
    for _ in range(3):
        assert "no key with that kid" in await rejected(auth, mint(ec_key(), claims(), kid="nope"))
    assert jwks.fetched == [JKU, JKU]


async def test_K11_replayed_jti_rejected(auth: Authenticator) -> None:
    token = mint(ec_key(), claims())
    assert await auth.authenticate(f"Bearer {token}", SERVICE_PATH) is not None
    assert "replay" in await rejected(auth, token)


async def test_K11_same_jti_in_a_new_token_rejected(auth: Authenticator) -> None:
    first = claims(jti="fixed")
    assert await auth.authenticate(f"Bearer {mint(ec_key(), first)}", SERVICE_PATH) is not None
    assert "replay" in await rejected(auth, mint(ec_key(), claims(jti="fixed")))


@pytest.mark.parametrize("missing", ["jti", "exp", "iat", "aud", "iss"])
async def test_K5_missing_required_claim_rejected(auth: Authenticator, missing: str) -> None:
    payload = claims()
    del payload[missing]
    token = mint(ec_key(), payload)
    reason = await rejected(auth, token)
    assert ("MissingRequiredClaimError" in reason) or ("is not trusted" in reason and missing == "iss")


async def test_K3_tampered_payload_rejected(auth: Authenticator) -> None:
    header, _, signature = mint(ec_key(), claims()).split(".")
    tampered = forge({"alg": "ES384"}, claims(tenant="someone-else")).split(".")[1]
    assert "signature does not verify" in await rejected(auth, f"{header}.{tampered}.{signature}")


async def test_K4_missing_kid_rejected(auth: Authenticator) -> None:
    assert "no kid" in await rejected(auth, mint(ec_key(), claims(), kid=None))


@pytest.mark.parametrize("typ", ["at+jwt", "JOSE", 7])
async def test_K4_typ_other_than_jwt_rejected(auth: Authenticator, typ: Any) -> None:
    assert "is not JWT" in await rejected(auth, mint(ec_key(), claims(), typ=typ))


async def test_K4_absent_typ_tolerated(auth: Authenticator) -> None:
    payload = claims()
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload, typ=None)}", SERVICE_PATH) == payload
