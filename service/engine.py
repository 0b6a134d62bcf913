"""Runs the clinical rules over a patient's record and returns at most one card (the highest tier).

Decision table: :func:`service.assessment.decide`; card text: :mod:`service.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.assessment import assess, decide
from service.cdshooks.models import Card
from service.facts import build_facts
from service.knowledge import Knowledge
from service.record import PatientRecord
from service.render import render_wire


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one invocation: the cards to return and what the log line needs.

    ``flags`` (F1-F10 found) is an addition for tests and logs; it holds no patient data. ``wire`` holds the
    same cards as ``cards`` in wire form, ready for orjson (the endpoint answers with it); empty when the
    evaluation was made without it (stand-ins in tests). ``keyword_hits`` counts the evidence found by the
    keyword fallback rather than a code: the access-log line carries it (a log line of its own per request
    cost ~10 % of the typical body's CPU and printed no count).
    """

    cards: list[Card] = field(default_factory=list)
    tier: str | None = None
    skipped_resources: int = 0
    flags: frozenset[str] = frozenset()
    wire: tuple[dict[str, Any], ...] = ()
    keyword_hits: int = 0


def evaluate(record: PatientRecord, knowledge: Knowledge, now: datetime, hook_instance: str) -> Evaluation:
    """Evaluate every rule for ``record`` at time ``now``; pure apart from its arguments."""
    types = {key: spec.resource_type for key, spec in knowledge.service.prefetch.items()}
    facts = build_facts(record, types, now, knowledge.relevance.keep, knowledge.text)
    assessment = assess(facts, knowledge, now)
    tier = decide(assessment, knowledge.config.tiers, knowledge)
    keyword_hits = sum(ev.by_keyword for f in assessment.findings.values() for ev in f.evidence)
    wire = (render_wire(assessment, tier, knowledge, now, hook_instance),) if tier else ()
    # The wire models of the same cards, for the card record, the CLI and the tests (validated, so a card
    # that breaks the wire contract fails here as it did when it was built from the models).
    cards = [Card.model_validate(card) for card in wire]
    return Evaluation(cards=cards, tier=tier, skipped_resources=facts.skipped, flags=assessment.flags, wire=wire,
                      keyword_hits=keyword_hits)
