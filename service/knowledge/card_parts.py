"""The parts of a patient-view card that depend on the tier only, in wire form, built once per knowledge.

Source, indicator, summary, guideline links (with and without the cancer links) and the override reasons are
the same on every card of a tier. Each is built as the pydantic wire model the reference path uses and dumped
the way :func:`service.cdshooks.models.wire_json` dumps it, so the fast path (``service.render.render_wire``)
copies the very members the reference path writes. Treat the dicts as read-only: every card shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from service.cdshooks.models import Link, Source
from service.knowledge.feedback_spec import FeedbackKnowledge
from service.knowledge.templates import CardTexts, OrderCatalog

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
    # The detail's questions block: the heading and one action line per question ("" when the tier has none).
    questions: str = ""


@dataclass(frozen=True)
class OrderWire:
    """An order's ``category`` and ``code`` members of its draft ServiceRequest (shared by every card)."""

    category: list[Wire]
    code: Wire


@dataclass(frozen=True)
class CardParts:
    tiers: Mapping[str, TierParts]
    orders: Mapping[str, OrderWire] = field(default_factory=dict)
    # The layout's flag order followed by any other feature of the assessment, modifiers left out, per
    # tuple of feature names (the assessment's keys, the same on every request): see ``flag_order``.
    _flag_orders: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def flag_order(
        self, features: tuple[str, ...], layout: tuple[str, ...], left_out: frozenset[str]
    ) -> tuple[str, ...]:
        """``features`` in the layout's order (unknown ones after), ``left_out`` dropped; kept per key tuple."""
        found = self._flag_orders.get(features)
        if found is None:
            order = [f for f in layout if f in features]
            order += [f for f in features if f not in order]
            found = tuple(f for f in order if f not in left_out)
            if len(self._flag_orders) < 64:
                self._flag_orders[features] = found
        return found


def order_wire(orders: OrderCatalog) -> dict[str, OrderWire]:
    """Every order's constant ServiceRequest members, as ``service.orders`` writes them."""
    out = {}
    for name, order in orders.orders.items():
        category = orders.categories[order.category]
        out[name] = OrderWire(
            category=[{"coding": [{"system": category.system, "code": category.code, "display": category.display}]}],
            code={
                "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in order.codings],
                "text": order.label,
            },
        )
    return out


def build_card_parts(
    cards: CardTexts, feedback: FeedbackKnowledge, hook: str, orders: OrderCatalog | None = None
) -> CardParts:
    """Every tier's constant parts for cards answering ``hook`` (and every order's, given the catalog)."""
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
            questions="\n".join(
                [cards.texts["questionsHeading"], *(cards.texts["actionLine"].format(text=q) for q in text.questions)]
            )
            if text.questions
            else "",
        )
    return CardParts(tiers, order_wire(orders) if orders is not None else {})
