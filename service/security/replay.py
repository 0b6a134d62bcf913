"""Replay protection for client JWTs: each ``(iss, jti)`` is accepted once while the token can live.

The protocol is deliberately tiny so a database-backed cache shared by replicas can replace the
in-memory one without touching the authenticator.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class ReplayCache(Protocol):
    """Remembers token ids until they expire."""

    async def check_and_store(self, jti: str, iss: str, expires_at: float) -> bool:
        """Store ``(iss, jti)`` until ``expires_at`` (epoch seconds); False if it was already there."""
        ...


class InMemoryReplayCache:
    """A per-process replay cache, bounded, forgetting entries once their token has expired.

    When full of unexpired entries it refuses new tokens (fails closed) rather than evicting one:
    eviction would re-open a replay window, and only signature-verified tokens are ever stored, so
    filling it takes a trusted client minting more than ``max_entries`` tokens per token lifetime.
    """

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]

    async def check_and_store(self, jti: str, iss: str, expires_at: float) -> bool:
        """No await inside, so the check and the store are atomic on the event loop."""
        now = self._clock()
        self._purge(now)
        key = (iss, jti)
        if key in self._expiry:
            return False
        if len(self._expiry) >= self._max_entries:
            log.warning("auth.replay_cache_full", entries=len(self._expiry))
            return False
        self._expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        return True
