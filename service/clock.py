"""The only place that reads the wall clock, so tests and golden cases can freeze "today"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Current time in UTC (the rules' T)."""
    return datetime.now(UTC)


def frozen_clock(at: datetime) -> Clock:
    """A clock that always answers ``at`` (made timezone-aware in UTC if naive)."""
    fixed = at if at.tzinfo else at.replace(tzinfo=UTC)
    return lambda: fixed
