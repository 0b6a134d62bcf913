"""Key objects are parsed once per key content (issue 17), and the cache never outlives a key rotation."""

from __future__ import annotations

import pytest

from service.errors import Unauthorized
from service.security import jwt as service_jwt
from service.security.jwt import Authenticator
from service.security.replay import InMemoryReplayCache
from service.settings import TrustedIssuer
from tests.support.tokens import ISS, SERVICE_PATH, JwksServer, claims, ec_key, mint, public_jwk, settings_for


def make(jwk: dict[str, object]) -> Authenticator:
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [jwk]})
    return Authenticator(settings_for(issuer), InMemoryReplayCache(), JwksServer().client())


async def test_a_key_is_parsed_once_for_many_tokens() -> None:
    key = ec_key("cache-once")
    auth = make(public_jwk(key, "k-once", "ES384"))
    service_jwt._key_object.cache_clear()
    for _ in range(5):
        await auth.authenticate(f"Bearer {mint(key, claims(), kid='k-once')}", SERVICE_PATH)
    info = service_jwt._key_object.cache_info()
    assert (info.misses, info.hits) == (1, 4)


async def test_a_rotated_key_under_the_same_kid_replaces_the_old_one() -> None:
    old, new = ec_key("rotate-old"), ec_key("rotate-new")
    await make(public_jwk(old, "k-rot", "ES384")).authenticate(
        f"Bearer {mint(old, claims(), kid='k-rot')}", SERVICE_PATH)
    rotated = make(public_jwk(new, "k-rot", "ES384"))
    assert await rotated.authenticate(f"Bearer {mint(new, payload := claims(), kid='k-rot')}", SERVICE_PATH) == payload
    with pytest.raises(Unauthorized) as caught:
        await rotated.authenticate(f"Bearer {mint(old, claims(), kid='k-rot')}", SERVICE_PATH)
    assert caught.value.reason == "signature does not verify"
