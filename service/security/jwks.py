"""Public keys of trusted CDS clients, fetched from allowlisted URLs and cached per URL.

Keys rotate (spec K8), so an unknown ``kid`` forces one refetch; forced refetches are rate-limited so a
stream of tokens with invented ``kid`` values cannot turn us into a request amplifier.

A fetch has one total time limit (httpx's timeouts are per read, so a server dripping bytes would
outlast them), and each key-set URL (one per issuer, or per allowlisted ``jku``) has a circuit
breaker: after ``failures_to_open`` failed fetches in a row it is not fetched for ``open_seconds``,
so a slow or dead issuer endpoint costs its callers an immediate 401 rather than a wait each.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

MAX_JWKS_BYTES = 64 * 1024


class KeySetUnavailable(Exception):
    """The JWK Set could not be fetched or is not a JWK Set; the caller turns this into a 401."""


@dataclass
class _Entry:
    keys: list[dict[str, Any]]
    expires_at: float


def keys_with_kid(jwks: dict[str, Any], kid: str) -> list[dict[str, Any]]:
    """The JWKs of a set whose ``kid`` equals ``kid`` (spec: unique, but we do not rely on it)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return []
    return [key for key in keys if isinstance(key, dict) and key.get("kid") == kid]


class JwksCache:
    """Fetches JWK Sets with a short timeout and keeps them for ``cache_seconds``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        fetch_timeout: float,
        cache_seconds: float,
        min_refetch_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        failures_to_open: int = 3,
        open_seconds: float = 30.0,
    ) -> None:
        self._http = http
        self._timeout = fetch_timeout
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._last_forced: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._failures_to_open = failures_to_open
        self._open_seconds = open_seconds
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    async def keys_for(self, url: str, kid: str) -> list[dict[str, Any]]:
        """Keys with ``kid`` from the set at ``url``; refetches once if the kid is unknown."""
        entry = self._entries.get(url)
        if entry is None or self._clock() >= entry.expires_at:
            entry = await self._refresh(url, seen=entry)
        found = keys_with_kid({"keys": entry.keys}, kid)
        if found:
            return found
        now = self._clock()
        last = self._last_forced.get(url)
        if last is not None and now - last < self._min_refetch:
            return []
        self._last_forced[url] = now
        log.info("auth.jwks_refetch_unknown_kid", url=url, kid=kid)
        entry = await self._refresh(url, seen=entry)
        return keys_with_kid({"keys": entry.keys}, kid)

    async def _refresh(self, url: str, seen: _Entry | None) -> _Entry:
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            current = self._entries.get(url)
            if current is not None and current is not seen:
                return current  # another request refreshed it while we waited
            try:
                keys = await self._guarded_fetch(url)
            except KeySetUnavailable as exc:
                if current is None:
                    raise
                log.warning("auth.jwks_refresh_failed_using_cached", url=url, error=str(exc))
                current.expires_at = self._clock() + self._min_refetch
                return current
            now = self._clock()
            entry = _Entry(keys=keys, expires_at=now + self._cache_seconds)
            self._entries[url] = entry
            return entry

    async def _guarded_fetch(self, url: str) -> list[dict[str, Any]]:
        """``_fetch`` behind the URL's circuit breaker."""
        now = self._clock()
        if self._open_until.get(url, 0.0) > now:
            raise KeySetUnavailable("circuit open after repeated failures")
        try:
            keys = await self._fetch(url)
        except KeySetUnavailable:
            failures = self._failures.get(url, 0) + 1
            self._failures[url] = failures
            if failures >= self._failures_to_open:
                self._open_until[url] = self._clock() + self._open_seconds
                log.warning("auth.jwks_circuit_open", url=url, failures=failures, seconds=self._open_seconds)
            raise
        self._failures.pop(url, None)
        self._open_until.pop(url, None)
        return keys

    async def _fetch(self, url: str) -> list[dict[str, Any]]:
        try:
            async with asyncio.timeout(self._timeout):
                content = await self._download(url)
        except TimeoutError as exc:
            raise KeySetUnavailable(f"no complete answer within {self._timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise KeySetUnavailable(f"fetch failed: {type(exc).__name__}") from exc
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise KeySetUnavailable("JWK Set is not JSON") from exc
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise KeySetUnavailable("JWK Set has no keys array")
        return [key for key in keys if isinstance(key, dict)]

    async def _download(self, url: str) -> bytes:
        """The body, read as it streams so a huge answer is refused at ``MAX_JWKS_BYTES``."""
        async with self._http.stream("GET", url, timeout=self._timeout, follow_redirects=False) as response:
            if response.status_code != 200:
                raise KeySetUnavailable(f"fetch answered {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_JWKS_BYTES:
                    raise KeySetUnavailable("JWK Set too large")
                chunks.append(chunk)
            return b"".join(chunks)
