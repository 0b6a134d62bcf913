"""Public keys of trusted CDS clients, fetched from allowlisted URLs and cached per URL.

Keys rotate (spec K8), so an unknown ``kid`` forces one refetch; forced refetches are rate-limited so a
stream of tokens with invented ``kid`` values cannot turn us into a request amplifier.
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
    ) -> None:
        self._http = http
        self._timeout = fetch_timeout
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._last_forced: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

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
                keys = await self._fetch(url)
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

    async def _fetch(self, url: str) -> list[dict[str, Any]]:
        try:
            response = await self._http.get(url, timeout=self._timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise KeySetUnavailable(f"fetch failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise KeySetUnavailable(f"fetch answered {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise KeySetUnavailable("JWK Set too large")
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise KeySetUnavailable("JWK Set is not JSON") from exc
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise KeySetUnavailable("JWK Set has no keys array")
        return [key for key in keys if isinstance(key, dict)]
