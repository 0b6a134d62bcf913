"""Runs the clinical rules over a patient's record and returns at most one card (the highest tier).

Decision table: :func:`service.assessment.decide`; card text: :mod:`service.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson

from service.assessment import assess, decide
from service.cdshooks.models import Card, wire_json
from service.facts import build_facts
from service.knowledge import Knowledge
from service.record import PatientRecord
from service.render import render_wire


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one invocation: the cards to return and what the log line needs.

    ``wire`` holds the cards in wire form, ready for orjson: the endpoint answers and records from it.
    ``cards`` holds the same cards as wire models, validated when first asked for (the preview, the CLI,
    the tests; a test validates every fixture case's), not on the request path, where it cost ~4 % of a
    small request's CPU. A stand-in (tests) gives ``models`` instead; its ``wire`` is dumped from them.
    ``flags`` (F1-F10 found) is an addition for tests and logs; it holds no patient data. ``keyword_hits`` counts the
    evidence found by the keyword fallback rather than a code: the access-log line carries it.
    """

    tier: str | None = None
    skipped_resources: int = 0
    flags: frozenset[str] = frozenset()
    wire: tuple[dict[str, Any], ...] = ()
    keyword_hits: int = 0
    models: list[Card] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.models is not None and not self.wire:  # a stand-in's cards are answered like the engine's
            object.__setattr__(self, "wire", tuple(orjson.loads(wire_json(card)) for card in self.models))

    @cached_property
    def cards(self) -> list[Card]:
        if self.models is not None:
            return self.models
        return [Card.model_validate(card) for card in self.wire]


def evaluate(record: PatientRecord, knowledge: Knowledge, now: datetime, hook_instance: str) -> Evaluation:
    """Evaluate every rule for ``record`` at time ``now``; pure apart from its arguments."""
    types = {key: spec.resource_type for key, spec in knowledge.service.prefetch.items()}
    facts = build_facts(record, types, now, knowledge.relevance.keep, knowledge.text)
    assessment = assess(facts, knowledge, now)
    tier = decide(assessment, knowledge.config.tiers, knowledge)
    keyword_hits = sum(ev.by_keyword for f in assessment.findings.values() for ev in f.evidence)
    wire = (render_wire(assessment, tier, knowledge, now, hook_instance),) if tier else ()
    return Evaluation(tier=tier, skipped_resources=facts.skipped, flags=assessment.flags, wire=wire,
                      keyword_hits=keyword_hits)
