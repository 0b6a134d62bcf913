"""In-process cost of verifying one client JWT, per algorithm, without the replay cache's database.

Splits the production workloads' JWT + replay figure: the authenticator runs exactly as served (header
and claim checks, key lookup, PyJWT + OpenSSL signature check, claim policy) against an in-memory replay
cache, so what is left of the served difference is the database insert and its thread hop. Each
iteration verifies a token never seen before, as every real call does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx

from service.bench.measure import SERVICE_PATH
from service.bench.micro import run_now, timed
from service.bench.production import ISSUER, PUBLIC_BASE_URL, BenchIssuer
from service.security.jwt import Authenticator
from service.security.replay import InMemoryReplayCache
from service.settings import Settings, TrustedIssuer

PATH = SERVICE_PATH
ALGORITHMS = ("ES384", "RS384")


def verify_step(algorithm: str, iterations: int, http: httpx.AsyncClient) -> Callable[[], object]:
    """A step verifying the next of ``iterations`` fresh tokens signed with ``algorithm`` (keys out of band:
    ``http`` is never used)."""
    issuer = BenchIssuer(algorithm)
    settings = Settings(_env_file=None, profile="production", public_base_url=PUBLIC_BASE_URL,
                        jwt_algorithms=[algorithm],
                        trusted_issuers=[TrustedIssuer(iss=ISSUER, jwks={"keys": [issuer.public_jwk()]})])
    authenticator = Authenticator(settings, InMemoryReplayCache(max_entries=iterations + 10), http)
    tokens: Iterator[str] = iter([f"Bearer {issuer.token(PATH)}" for _ in range(iterations)])
    return lambda: run_now(authenticator.authenticate(next(tokens), PATH))


def run_auth_micro(iterations: int, max_seconds: float = 10.0) -> dict[str, dict[str, float]]:
    """``{"jwt ES384": {median_us, p99_us, iterations}, "jwt RS384": ...}``."""
    http = httpx.AsyncClient()
    try:
        return {f"jwt {alg}": timed(verify_step(alg, iterations, http), iterations, max_seconds)
                for alg in ALGORITHMS}
    finally:
        asyncio.run(http.aclose())
