"""JwksCache: caching, expiry, rate-limited refetch, timeouts passed down, hostile responses."""

from __future__ import annotations

import httpx
import pytest

from service.security.jwks import JwksCache, KeySetUnavailable
from tests.support.tokens import JKU, JwksServer, ec_key, public_jwk

KEY = public_jwk(ec_key(), "k1", "ES384")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache_for(handler: httpx.MockTransport, clock: FakeClock | None = None) -> JwksCache:
    http = httpx.AsyncClient(transport=handler)
    return JwksCache(http, fetch_timeout=0.5, cache_seconds=600, min_refetch_seconds=30, clock=clock or FakeClock())


async def test_K11_keys_cached_until_expiry() -> None:
    server, clock = JwksServer({JKU: {"keys": [KEY]}}), FakeClock()
    cache = cache_for(httpx.MockTransport(server.handler), clock)
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert server.fetched == [JKU]
    clock.now = 600.0
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert server.fetched == [JKU, JKU]


async def test_K8_forced_refetch_allowed_again_after_interval() -> None:
    server, clock = JwksServer({JKU: {"keys": [KEY]}}), FakeClock()
    cache = cache_for(httpx.MockTransport(server.handler), clock)
    assert await cache.keys_for(JKU, "x") == []
    assert await cache.keys_for(JKU, "x") == []
    assert len(server.fetched) == 2
    clock.now = 31.0
    assert await cache.keys_for(JKU, "x") == []
    assert len(server.fetched) == 3


async def test_K11_stale_keys_kept_when_refresh_fails() -> None:
    server, clock = JwksServer({JKU: {"keys": [KEY]}}), FakeClock()
    cache = cache_for(httpx.MockTransport(server.handler), clock)
    assert await cache.keys_for(JKU, "k1") == [KEY]
    server.sets.clear()  # the issuer's endpoint now answers 404
    clock.now = 700.0
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert len(server.fetched) == 2  # no hammering: next retry waits min_refetch_seconds


async def test_K11_fetch_uses_short_timeout_and_no_redirects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://evil.example/jwks"})

    with pytest.raises(KeySetUnavailable, match="302"):
        await cache_for(httpx.MockTransport(handler)).keys_for(JKU, "k1")
    assert [str(r.url) for r in seen] == [JKU]
    assert seen[0].extensions["timeout"]["read"] == 0.5


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json=["keys"]),
        httpx.Response(200, json={"keys": "nope"}),
        httpx.Response(200, content=b'{"keys": [' + b'{"kty":"EC"},' * 6000 + b"{}]}"),
        httpx.Response(500),
    ],
)
async def test_K11_hostile_jwks_responses_are_unavailable(response: httpx.Response) -> None:
    with pytest.raises(KeySetUnavailable):
        await cache_for(httpx.MockTransport(lambda _: response)).keys_for(JKU, "k1")


async def test_K11_network_error_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with pytest.raises(KeySetUnavailable, match="ConnectTimeout"):
        await cache_for(httpx.MockTransport(handler)).keys_for(JKU, "k1")


async def test_a_dripping_jwks_endpoint_is_cut_at_the_total_timeout() -> None:
    """httpx's read timeout restarts with every byte; the fetch's total limit does not."""
    import asyncio
    import time

    from tests.fhir.stand_ins import scripted_server

    async def drip(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n")
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with scripted_server(drip) as base, httpx.AsyncClient(trust_env=False) as http:
        cache = JwksCache(http, fetch_timeout=0.3, cache_seconds=600)
        started = time.monotonic()
        with pytest.raises(KeySetUnavailable, match=r"within 0\.3 s"):
            await cache.keys_for(base + "/jwks", "k1")
        assert time.monotonic() - started < 2.0


async def test_the_circuit_opens_after_repeated_failures_and_closes_after_its_pause() -> None:
    server, clock = JwksServer({}), FakeClock()  # every fetch answers 404
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    cache = JwksCache(http, fetch_timeout=0.5, cache_seconds=600, clock=clock, failures_to_open=3, open_seconds=30)
    for _ in range(3):
        with pytest.raises(KeySetUnavailable, match="404"):
            await cache.keys_for(JKU, "k1")
    with pytest.raises(KeySetUnavailable, match="circuit open"):
        await cache.keys_for(JKU, "k1")
    assert len(server.fetched) == 3  # open: callers get their answer without a fetch
    other = "https://other.example/jwks"
    with pytest.raises(KeySetUnavailable, match="404"):
        await cache.keys_for(other, "k1")  # one issuer's breaker does not trip another's
    clock.now = 31.0
    server.sets[JKU] = {"keys": [KEY]}
    assert await cache.keys_for(JKU, "k1") == [KEY]
    assert server.fetched.count(JKU) == 4
