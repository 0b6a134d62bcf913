"""Moves every full FHIR date and dateTime in a resource by a whole number of days.

Fixture cases are written against a frozen "today"; a live service evaluates at the real clock. Shifting a
case's dates by (real today - frozen today) keeps every interval the rules measure (days since onset, weight
window, MRI recency, age) exactly as the case intends, so the sandbox shows the documented card.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

# A full date, optionally with a time: partial dates (YYYY, YYYY-MM) carry no day to shift and stay as they are.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


def _shift_text(text: str, delta: timedelta) -> str:
    if not _DATE.match(text):
        return text
    if len(text) == 10:
        return (date.fromisoformat(text) + delta).isoformat()
    moved = datetime.fromisoformat(text.replace("Z", "+00:00")) + delta
    shifted = moved.isoformat()
    return shifted.replace("+00:00", "Z") if text.endswith("Z") else shifted


def shift_dates(value: Any, days: int) -> Any:
    """A copy of ``value`` (any JSON) with every full date/dateTime string moved by ``days``."""
    if days == 0:
        return value
    delta = timedelta(days=days)
    if isinstance(value, dict):
        return {key: shift_dates(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [shift_dates(item, days) for item in value]
    if isinstance(value, str):
        return _shift_text(value, delta)
    return value
