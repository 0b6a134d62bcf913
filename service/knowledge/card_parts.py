"""The parts of a patient-view card that depend on the tier only, in wire form, built once per knowledge.

Source, indicator, summary, guideline links (with and without the cancer links) and the override reasons are
the same on every card of a tier. Each is built as the pydantic wire model the reference path uses and dumped
the way :func:`service.cdshooks.models.wire_json` dumps it, so the fast path (``service.render.render_wire``)
copies the very members the reference path writes. Treat the dicts as read-only: every card shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from service.cdshooks.models import Link, Source
from service.knowledge.feedback_spec import FeedbackKnowledge
from service.knowledge.templates import CardTexts

Wire = dict[str, Any]


def _wire(model: BaseModel) -> Wire:
    """The model's members as ``wire_json`` writes them (aliases; members left at their default omitted)."""
    return model.model_dump(by_alias=True, exclude_defaults=True, mode="json")


@dataclass(frozen=True)
class TierParts:
    indicator: str
    summary: str
    source: Wire
    links: tuple[Wire, ...]
    # The links of a card whose patient has a cancer history (F3): the tier's, then its cancer links.
    cancer_links: tuple[Wire, ...]
    override_reasons: tuple[Wire, ...]


@dataclass(frozen=True)
class CardParts:
    tiers: Mapping[str, TierParts]


def build_card_parts(cards: CardTexts, feedback: FeedbackKnowledge, hook: str) -> CardParts:
    """Every tier's constant parts for cards answering ``hook``."""
    source = _wire(Source(label=cards.source.label, url=cards.source.url))

    def links(names: list[str]) -> tuple[Wire, ...]:
        return tuple(
            _wire(Link(label=cards.links[name].label, url=cards.links[name].url, type="absolute")) for name in names
        )

    tiers = {}
    for tier, text in cards.tiers.items():
        plain = list(text.links)
        with_cancer = plain + [name for name in text.cancer_links if name not in plain]
        tiers[tier] = TierParts(
            indicator=text.indicator,
            summary=text.summary,
            source=source,
            links=links(plain),
            cancer_links=links(with_cancer),
            override_reasons=tuple(_wire(coding) for coding in feedback.override_reasons(hook, tier)),
        )
    return CardParts(tiers)
