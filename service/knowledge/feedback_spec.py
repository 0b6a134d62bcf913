"""``cards/feedback.json``: the override reasons a card offers, what "snooze" means, and suggestion kinds.

Typed and cross-checked at start-up: a reason naming an unknown code system, a snooze reason that no card
offers, or a kind rule naming an undeclared kind stops the service with a message naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping

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

    def offered(self, hook: str, tier: str) -> bool:
        return (self.hooks is None or hook in self.hooks) and (self.tiers is None or tier in self.tiers)


class SnoozeSpec(_Model):
    system: str
    code: str
    days: int


class KindRules(_Model):
    kinds: tuple[str, ...]
    by_order_prefix: dict[str, str] = Field(default_factory=dict)
    by_category: dict[str, str] = Field(default_factory=dict)
    default: str = "other"


class FeedbackFile(_Model):
    systems: dict[str, str]
    override_reasons: tuple[OverrideReasonSpec, ...]
    snooze: SnoozeSpec
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
        self._urgency = {tier: rank for rank, tier in enumerate(data.tier_urgency)}
        self._codings: dict[tuple[str, str], list[Coding]] = {}
        # An order is recognised in a card by its first coding; its kind by its name, then its category.
        self._kind_by_code: dict[tuple[str, str], str] = {}
        for name, order in orders.orders.items():
            kind = self._kind(name, order.category)
            for coding in order.codings:
                self._kind_by_code.setdefault((coding.system, coding.code), kind)

    def _kind(self, order_name: str, category: str) -> str:
        rules = self.data.suggestion_kinds
        for prefix, kind in rules.by_order_prefix.items():
            if order_name.startswith(prefix):
                return kind
        return rules.by_category.get(category, rules.default)

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.data.suggestion_kinds.kinds

    def override_reasons(self, hook: str, tier: str) -> list[Coding]:
        """The reasons a card of ``tier`` answering ``hook`` offers, as wire Codings (memoised)."""
        key = (hook, tier)
        cached = self._codings.get(key)
        if cached is None:
            days = self.snooze_days
            cached = [
                Coding(system=self.data.systems[r.system], code=r.code, display=r.display.format(days=days))
                for r in self.data.override_reasons
                if r.offered(hook, tier)
            ]
            self._codings[key] = cached
        return cached

    def can_be_snoozed(self, tier: str) -> bool:
        return self.snoozable is None or tier in self.snoozable

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
        for action in suggestion.actions:
            resource: Mapping[str, object] = action.resource or {}
            code = resource.get("code")
            codings = code.get("coding") if isinstance(code, dict) else None
            for coding in codings if isinstance(codings, list) else []:
                if isinstance(coding, dict):
                    kind = self._kind_by_code.get((str(coding.get("system")), str(coding.get("code"))))
                    if kind is not None:
                        return kind
        return self.data.suggestion_kinds.default
