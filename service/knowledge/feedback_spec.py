"""``cards/feedback.json``: the override reasons a card offers, what "snooze" means, and suggestion kinds.

A reason is offered on a card when the card's hook is among its ``hooks``, the card's tier among its
``tiers`` and, on the order hooks, the card's kind (``mismatch``, ``early``: order-decisions.json) among its
``cards``; an absent limit allows every card. A card of an order hook has a kind, a patient-view card none,
so a reason limited by ``cards`` is never offered at chart opening.

Typed and cross-checked at start-up: a reason naming an unknown code system, hook or order card, a card that
would offer one code twice, a snooze reason that no card offers or that an order hook offers (order-time
warnings are never snoozed), the data-quality reason that no card offers, or a kind rule naming an
undeclared kind stops the service with a message naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from service.cdshooks.models import Coding, Suggestion
from service.errors import KnowledgeError
from service.knowledge.templates import OrderCatalog


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class OverrideReasonSpec(_Model):
    system: str
    code: str
    display: str
    hooks: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None
    cards: tuple[str, ...] | None = None

    def offered(self, hook: str, tier: str | None, card: str | None = None) -> bool:
        """On a card of ``hook`` and ``tier`` (None: a card without a tier) of kind ``card`` (order hooks)."""
        return (
            (self.hooks is None or hook in self.hooks)
            and (self.tiers is None or tier in self.tiers)
            and (self.cards is None or card in self.cards)
        )


class SnoozeSpec(_Model):
    system: str
    code: str
    days: int


class ReasonRef(_Model):
    system: str
    code: str


class KindRules(_Model):
    kinds: tuple[str, ...]
    by_order_prefix: dict[str, str] = Field(default_factory=dict)
    by_category: dict[str, str] = Field(default_factory=dict)
    default: str = "other"


class FeedbackFile(_Model):
    systems: dict[str, str]
    override_reasons: tuple[OverrideReasonSpec, ...]
    snooze: SnoozeSpec
    data_quality: ReasonRef
    tier_urgency: tuple[str, ...]
    suggestion_kinds: KindRules


class FeedbackKnowledge:
    """The checked content of ``cards/feedback.json`` plus look-ups built once from the order catalogue."""

    def __init__(self, data: FeedbackFile, orders: OrderCatalog, where: str) -> None:
        self.data = data
        named = [(r.system, r.code) for r in data.override_reasons] + [(data.snooze.system, data.snooze.code)]
        for system, code in named:
            if system not in data.systems:
                raise KnowledgeError(f"{where}: reason {code!r} names unknown system {system!r}")
        rules = data.suggestion_kinds
        for kind in (*rules.by_order_prefix.values(), *rules.by_category.values(), rules.default):
            if kind not in rules.kinds:
                raise KnowledgeError(f"{where}: suggestion kind {kind!r} is not listed in kinds")
        self.snooze_system = data.systems[data.snooze.system]
        self._snooze_offered: dict[tuple[str, str], bool] = {}
        self.snooze_code = data.snooze.code
        self.snooze_days = data.snooze.days
        snooze_reasons = [r for r in data.override_reasons if (r.system, r.code) == (data.snooze.system,
                                                                                      data.snooze.code)]
        if not snooze_reasons:
            raise KnowledgeError(f"{where}: snooze names {data.snooze.code!r}, which no override reason offers")
        # A snooze is honoured only for tiers whose card offers it (never, say, for an emergency card).
        self.snoozable: frozenset[str] | None = (
            None if snooze_reasons[0].tiers is None else frozenset(snooze_reasons[0].tiers)
        )
        self.data_quality_system = data.systems[data.data_quality.system]
        self.data_quality_code = data.data_quality.code
        quality = [r for r in data.override_reasons
                   if (r.system, r.code) == (data.data_quality.system, data.data_quality.code)]
        if not quality:
            raise KnowledgeError(
                f"{where}: dataQuality names {data.data_quality.code!r}, which no override reason offers"
            )
        self.data_quality_display = quality[0].display
        self._urgency = {tier: rank for rank, tier in enumerate(data.tier_urgency)}
        self._codings: dict[tuple[str, str | None, str | None], list[Coding]] = {}
        # An order is recognised in a card by its first coding; its kind by its name, then its category.
        self._kind_by_code: dict[tuple[str, str], str] = {}
        for name, order in orders.orders.items():
            kind = self._kind(name, order.category)
            for coding in order.codings:
                self._kind_by_code.setdefault((coding.system, coding.code), kind)

    def check_cards(
        self, hooks: Iterable[str], order_hooks: Iterable[str], order_cards: Iterable[str], where: str
    ) -> None:
        """Against service.json (the hooks answered) and order-decisions.json (the order cards' kinds)."""
        hooks, order_hooks, order_cards = set(hooks), set(order_hooks), set(order_cards)
        for r in self.data.override_reasons:
            unknown_hooks, unknown_cards = sorted(set(r.hooks or ()) - hooks), sorted(set(r.cards or ()) - order_cards)
            if unknown_hooks:
                raise KnowledgeError(
                    f"{where}: reason {r.code!r} names hook {unknown_hooks[0]!r}, which no service answers"
                )
            if unknown_cards:
                raise KnowledgeError(
                    f"{where}: reason {r.code!r} names order card {unknown_cards[0]!r}, which is not one "
                    f"(order-decisions.json cards: {sorted(order_cards)})"
                )
        # Every card that can be issued: a patient-view card has a tier and no kind; an order card a kind,
        # and the patient's red-flag tier or none.
        tiers: list[str | None] = [*self.data.tier_urgency, None]
        kinds: dict[str, list[str | None]] = {h: ([*order_cards] if h in order_hooks else [None]) for h in hooks}
        for hook, cards in sorted(kinds.items()):
            for tier in tiers:
                for card in cards:
                    offered = [(r.system, r.code) for r in self.data.override_reasons if r.offered(hook, tier, card)]
                    twice = sorted({code for system, code in offered if offered.count((system, code)) > 1})
                    if twice:
                        raise KnowledgeError(
                            f"{where}: one {hook} card (tier {tier}, card {card}) would offer {twice} twice"
                        )
        snooze = [r for r in self.data.override_reasons if (r.system, r.code) == (self.data.snooze.system,
                                                                                   self.snooze_code)]
        for r in snooze:
            if r.hooks is None or set(r.hooks) & order_hooks:
                raise KnowledgeError(
                    f"{where}: the snooze reason must be limited to hooks without order cards (order-time "
                    f"warnings are never snoozed); it is offered on {sorted(set(r.hooks or hooks) & order_hooks)}"
                )

    def _kind(self, order_name: str, category: str) -> str:
        rules = self.data.suggestion_kinds
        for prefix, kind in rules.by_order_prefix.items():
            if order_name.startswith(prefix):
                return kind
        return rules.by_category.get(category, rules.default)

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.data.suggestion_kinds.kinds

    def override_reasons(self, hook: str, tier: str | None, card: str | None = None) -> list[Coding]:
        """The reasons a card of ``tier`` answering ``hook`` (an order card: of kind ``card``) offers, as wire
        Codings (memoised)."""
        key = (hook, tier, card)
        cached = self._codings.get(key)
        if cached is None:
            days = self.snooze_days
            cached = [
                Coding(system=self.data.systems[r.system], code=r.code, display=r.display.format(days=days))
                for r in self.data.override_reasons
                if r.offered(hook, tier, card)
            ]
            self._codings[key] = cached
        return cached

    def can_be_snoozed(self, tier: str) -> bool:
        return self.snoozable is None or tier in self.snoozable

    def snooze_offered(self, hook: str, tier: str) -> bool:
        """Whether a card of ``hook`` and ``tier`` offers the snooze, so a snooze in force may hold it back.

        Asked for every card: the answer per (hook, tier) is kept (both come from the knowledge, so the
        map holds at most hooks × tiers entries).
        """
        known = self._snooze_offered.get((hook, tier))
        if known is None:
            known = self._snooze_offered[(hook, tier)] = any(
                (r.system, r.code) == (self.data.snooze.system, self.snooze_code) and r.offered(hook, tier)
                for r in self.data.override_reasons
            )
        return known

    def is_data_quality(self, system: str | None, code: str | None) -> bool:
        """The reason saying the record lacks a red flag the clinician sees (counted apart by the report)."""
        return system == self.data_quality_system and code == self.data_quality_code

    def is_snooze(self, system: str | None, code: str | None) -> bool:
        return system == self.snooze_system and code == self.snooze_code

    def tiers_at_least_as_urgent(self, tier: str) -> list[str]:
        """Tiers whose snooze also covers ``tier``: itself and the more urgent ones. Unknown: itself only."""
        rank = self._urgency.get(tier)
        if rank is None:
            return [tier]
        return [t for t, r in self._urgency.items() if r <= rank]

    def suggestion_kind(self, suggestion: Suggestion) -> str:
        """MRI, CT, referral, bloods or other, from the first coded resource the suggestion creates."""
        return self.kind_of_resources(action.resource for action in suggestion.actions)

    def wire_suggestion_kind(self, suggestion: Mapping[str, Any]) -> str:
        """:meth:`suggestion_kind` of a suggestion in wire form (the engine answers from it, issue 17)."""
        actions = suggestion.get("actions")
        listed = actions if isinstance(actions, list) else ()
        return self.kind_of_resources(action.get("resource") for action in listed if isinstance(action, dict))

    def kind_of_resources(self, resources: Iterable[Mapping[str, object] | None]) -> str:
        for resource in resources:
            code = (resource or {}).get("code")
            codings = code.get("coding") if isinstance(code, dict) else None
            for coding in codings if isinstance(codings, list) else []:
                if isinstance(coding, dict):
                    kind = self._kind_by_code.get((str(coding.get("system")), str(coding.get("code"))))
                    if kind is not None:
                        return kind
        return self.data.suggestion_kinds.default
