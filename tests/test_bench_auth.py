"""The benchmark's CDS client signs tokens the real authenticator accepts, for each recommended algorithm."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from service.bench.micro import run_now
from service.bench.micro_auth import ALGORITHMS, PATH, verify_step
from service.bench.production import ALGORITHM_OF, ISSUER, BenchIssuer
from service.errors import Unauthorized


@pytest.fixture
def http() -> Iterator[httpx.AsyncClient]:
    client = httpx.AsyncClient()
    yield client
    asyncio.run(client.aclose())


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_fresh_token_verifies(algorithm: str, http: httpx.AsyncClient) -> None:
    step = verify_step(algorithm, 3, http)
    for _ in range(3):
        claims = step()
        assert isinstance(claims, dict) and claims["iss"] == ISSUER
    with pytest.raises(StopIteration):  # exactly the tokens asked for: none is sent twice
        step()


def test_production_workloads_sign_with_their_algorithm() -> None:
    assert ALGORITHM_OF == {"production": "ES384", "production-rs384": "RS384"}
    for workload, algorithm in ALGORITHM_OF.items():
        issuer = BenchIssuer(algorithm)
        assert issuer.public_jwk()["alg"] == algorithm, workload
        assert issuer.public_jwk()["kty"] == ("EC" if algorithm.startswith("ES") else "RSA")
        assert issuer.env()["BACKPAIN_CDS_JWT_ALGORITHMS"] == algorithm


def test_a_token_of_another_key_is_refused(http: httpx.AsyncClient) -> None:
    from service.security.jwt import Authenticator
    from service.security.replay import InMemoryReplayCache
    from service.settings import Settings, TrustedIssuer

    trusted, stranger = BenchIssuer("RS384"), BenchIssuer("RS384")
    settings = Settings(_env_file=None, profile="production", public_base_url="https://cds.bench.invalid",
                        jwt_algorithms=["RS384"],
                        trusted_issuers=[TrustedIssuer(iss=ISSUER, jwks={"keys": [trusted.public_jwk()]})])
    authenticator = Authenticator(settings, InMemoryReplayCache(), http)
    with pytest.raises(Unauthorized):
        run_now(authenticator.authenticate(f"Bearer {stranger.token(PATH)}", PATH))
    with pytest.raises(ValueError):
        BenchIssuer("HS256")
