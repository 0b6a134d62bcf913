"""Authenticator policy beyond the issue's matrix: profiles, tenant, key binding, malformed input, logs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from service.errors import Unauthorized
from service.security.jwt import Authenticator
from service.security.replay import InMemoryReplayCache
from service.settings import TrustedIssuer
from tests.support.tokens import (
    ISS,
    JKU,
    SERVICE_PATH,
    JwksServer,
    claims,
    ec_key,
    mint,
    public_jwk,
    rsa_key,
    settings_for,
)


def make(*issuers: TrustedIssuer, server: JwksServer | None = None, **settings: Any) -> Authenticator:
    http = (server or JwksServer()).client()
    return Authenticator(settings_for(*issuers, **settings), InMemoryReplayCache(), http)


INLINE = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})


async def expect_401(auth: Authenticator, header: str | None, reason: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        await auth.authenticate(header, SERVICE_PATH)
    assert reason in caught.value.reason


async def test_K1_production_without_token_rejected() -> None:
    await expect_401(make(INLINE), None, "no Authorization header")
    await expect_401(make(INLINE), "   ", "no Authorization header")


async def test_K1_development_without_token_needs_no_auth() -> None:
    assert await make(INLINE, profile="development").authenticate(None, SERVICE_PATH) is None


async def test_K1_development_without_issuers_ignores_token() -> None:
    auth = make(profile="development")
    assert await auth.authenticate("Bearer not-even-a-jwt", SERVICE_PATH) is None


async def test_K1_development_checks_a_token_when_issuers_are_configured() -> None:
    auth = make(INLINE, profile="development")
    await expect_401(auth, "Bearer not-even-a-jwt", "malformed token")
    payload = claims()
    assert await auth.authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH) == payload


async def test_K1_production_without_issuers_rejects_everything() -> None:
    await expect_401(make(), f"Bearer {mint(ec_key(), claims())}", "not trusted")


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "bearer", "Token x.y.z"])
async def test_K2_not_a_bearer_token_rejected(header: str) -> None:
    await expect_401(make(INLINE), header, "not a Bearer token")


async def test_K2_scheme_is_case_insensitive() -> None:
    assert await make(INLINE).authenticate(f"bearer {mint(ec_key(), claims())}", SERVICE_PATH) is not None


async def test_K2_oversized_token_rejected_before_parsing() -> None:
    await expect_401(make(INLINE), "Bearer " + "a" * 9000, "too long")


async def test_K8_inline_jwks_fetches_nothing() -> None:
    server = JwksServer()
    auth = make(INLINE, server=server)
    assert await auth.authenticate(f"Bearer {mint(ec_key(), claims())}", SERVICE_PATH) is not None
    assert server.fetched == []


async def test_K8_allowlisted_jku_fetched_when_issuer_has_inline_keys_too() -> None:
    server = JwksServer({JKU: {"keys": [public_jwk(ec_key("other"), "k9", "ES384")]}})
    issuer = TrustedIssuer(iss=ISS, jwks=INLINE.jwks, jku=[JKU])
    token = mint(ec_key("other"), claims(), kid="k9", jku=JKU)
    assert await make(issuer, server=server).authenticate(f"Bearer {token}", SERVICE_PATH) is not None
    assert server.fetched == [JKU]


async def test_K8_issuer_without_any_key_source_rejected() -> None:
    await expect_401(make(TrustedIssuer(iss=ISS)), f"Bearer {mint(ec_key(), claims())}", "no jku")


async def test_K8_jwks_endpoint_down_rejected() -> None:
    issuer = TrustedIssuer(iss=ISS, jwks_url=JKU)
    await expect_401(make(issuer), f"Bearer {mint(ec_key(), claims())}", "unavailable")


async def test_K9_key_of_another_type_never_used() -> None:
    # An RS384 header naming an EC key's kid: no alg/key-type confusion, just no usable key.
    token = mint(rsa_key(), claims(), alg="RS384", kid="k1")
    await expect_401(make(INLINE), f"Bearer {token}", "fits RS384")


async def test_K10_es256_rejected_by_default_accepted_when_configured() -> None:
    key = ec_key("p256", "P-256")
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(key, "e1", "ES256")]})
    token = mint(key, claims(), alg="ES256", kid="e1")
    await expect_401(make(issuer), f"Bearer {token}", "'ES256' not allowed")
    configured = make(issuer, jwt_algorithms=["ES384", "ES256"])
    assert await configured.authenticate(f"Bearer {token}", SERVICE_PATH) is not None


async def test_K9_hmac_never_allowed_even_when_configured() -> None:
    from tests.support.tokens import forge

    auth = make(INLINE, jwt_algorithms=["ES384", "HS256"])
    token = forge({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), hmac_secret=b"secret")
    await expect_401(auth, f"Bearer {token}", "'HS256' not allowed")


async def test_K5_string_iat_rejected() -> None:
    now = int(time.time())
    token = mint(ec_key(), claims(iat=str(now), exp=now + 60))
    await expect_401(make(INLINE), f"Bearer {token}", "not a number")


async def test_K11_tenant_checked_when_configured() -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=INLINE.jwks, tenant="org-1")
    auth = make(issuer)
    await expect_401(auth, f"Bearer {mint(ec_key(), claims())}", "tenant None")
    await expect_401(auth, f"Bearer {mint(ec_key(), claims(tenant='org-2'))}", "tenant 'org-2'")
    assert await auth.authenticate(f"Bearer {mint(ec_key(), claims(tenant='org-1'))}", SERVICE_PATH)


async def test_K11_extra_claims_tolerated_and_sub_not_required() -> None:
    payload = claims(sub="client-1", nbf=int(time.time()) - 300, extra={"a": 1})
    assert await make(INLINE).authenticate(f"Bearer {mint(ec_key(), payload)}", SERVICE_PATH) == payload


async def test_K11_nbf_in_future_rejected() -> None:
    token = mint(ec_key(), claims(nbf=int(time.time()) + 600))
    await expect_401(make(INLINE), f"Bearer {token}", "ImmatureSignatureError")
