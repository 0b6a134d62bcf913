"""Runs the clinical rules over a patient's record and returns at most one card.

PLACEHOLDER until the clinical engine lands (issue 3): returns no card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from service.cdshooks.models import Card
from service.knowledge import Knowledge
from service.record import PatientRecord


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one invocation: the cards to return and what the log line needs."""

    cards: list[Card] = field(default_factory=list)
    tier: str | None = None
    skipped_resources: int = 0


def evaluate(record: PatientRecord, knowledge: Knowledge, now: datetime, hook_instance: str) -> Evaluation:
    """Evaluate every rule for ``record`` at time ``now``; pure apart from its arguments."""
    del record, knowledge, now, hook_instance
    return Evaluation()
