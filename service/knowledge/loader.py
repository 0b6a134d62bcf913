"""Loads ``cards/``: each file is checked against its JSON Schema before anything uses it.

A broken knowledge file must stop start-up with a message naming the file and the problem, never
surface later as a 500 in the middle of a clinician's workflow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
from pydantic import BaseModel, ValidationError

from service.errors import KnowledgeError
from service.knowledge.card_parts import CardParts, build_card_parts
from service.knowledge.config import Role, RulesConfig
from service.knowledge.feedback_spec import FeedbackFile, FeedbackKnowledge
from service.knowledge.imaging import (
    OrderCards,
    OrderDecisions,
    OrderKnowledge,
    check_order_decisions,
    spine_imaging,
)
from service.knowledge.relevance import Relevance
from service.knowledge.service_spec import ServiceSpec
from service.knowledge.templates import CardTexts, OrderCatalog, check_cards, check_orders
from service.knowledge.valuesets import CompiledValueSet, KnownCodes, known_codes, load_valuesets
from service.text.pipeline import ClinicalText, load_clinical_text


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"knowledge file {path} is not valid JSON: {exc}") from exc


@cache
def _validator(schema_path: Path) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(read_json(schema_path))


def validated(path: Path, schema_path: Path) -> Any:
    """The JSON content of ``path``, after validation against ``schema_path``."""
    data = read_json(path)
    errors = sorted(_validator(schema_path).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise KnowledgeError(f"knowledge file {path} fails {schema_path.name} at {where}: {first.message}")
    return data


M = TypeVar("M", bound=BaseModel)


def typed(model: type[M], data: Any, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeError(f"knowledge file {path} is inconsistent: {exc.errors()[0]['msg']}") from exc


@dataclass(frozen=True)
class Knowledge:
    """Everything the service knows, loaded once at start-up."""

    root: Path
    service: ServiceSpec
    config: RulesConfig
    cards: CardTexts
    orders: OrderCatalog
    value_sets: dict[str, CompiledValueSet]
    by_role: dict[Role, CompiledValueSet]
    relevance: Relevance
    # The order-select / order-sign services (spine-imaging.json, order-decisions.json).
    order: OrderKnowledge
    text: ClinicalText
    # Override reasons, snooze and suggestion kinds (cards/feedback.json, issue 18).
    feedback: FeedbackKnowledge
    # A digest of every knowledge file (and site overrides): which knowledge a stored card was made with.
    version: str = field(default="")

    def vs(self, role: Role) -> CompiledValueSet:
        return self.by_role[role]

    @cached_property
    def card_parts(self) -> CardParts:
        """The patient-view cards' constant parts in wire form (built by ``load_knowledge``, once)."""
        return build_card_parts(self.cards, self.feedback, self.service.hook, self.orders)

    @cached_property
    def known_codes(self) -> KnownCodes:
        """Every value set's codes in one union (built by ``load_knowledge``, once)."""
        return known_codes(self.value_sets.values())


def resolve_roles(
    config: RulesConfig, value_sets: dict[str, CompiledValueSet], where: Path
) -> dict[Role, CompiledValueSet]:
    out: dict[Role, CompiledValueSet] = {}
    for role in Role:
        url = config.value_sets.get(role.value)
        if url is None:
            raise KnowledgeError(f"{where}: valueSets has no binding for {role.value!r}")
        if url not in value_sets:
            raise KnowledgeError(
                f"{where}: valueSets.{role.value} = {url} does not resolve to a cards/valuesets file"
            )
        out[role] = value_sets[url]
    return out


def knowledge_version(root: Path, config_overrides: dict[str, Any] | None = None) -> str:
    """``sha256:`` and 12 hex digits over every ``cards/`` JSON file's path and bytes, plus the overrides."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.json")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    if config_overrides:
        digest.update(json.dumps(config_overrides, sort_keys=True).encode())
    return "sha256:" + digest.hexdigest()[:12]


def load_knowledge(root: Path, config_overrides: dict[str, Any] | None = None) -> Knowledge:
    """Load and validate the whole ``cards/`` directory (raises :class:`KnowledgeError`).

    ``config_overrides`` (top-level keys of ``config.json``, e.g. a site switching C5 on) are merged
    before validation, so an override is checked by the same schema.
    """
    schemas = root / "schemas"
    service = typed(ServiceSpec, validated(root / "service.json", schemas / "service.schema.json"), root)
    raw_config = validated(root / "config.json", schemas / "config.schema.json")
    if config_overrides:
        raw_config = {**raw_config, **config_overrides}
        errors = list(_validator(schemas / "config.schema.json").iter_errors(raw_config))
        if errors:
            raise KnowledgeError(f"config overrides fail config.schema.json: {errors[0].message}")
    config = typed(RulesConfig, raw_config, root / "config.json")
    cards = typed(
        CardTexts, validated(root / "cards.json", schemas / "cards.schema.json"), root / "cards.json"
    )
    check_cards(cards, str(root / "cards.json"))
    orders = typed(
        OrderCatalog, validated(root / "orders.json", schemas / "orders.schema.json"), root / "orders.json"
    )
    check_orders(
        orders,
        {"c1Referral": config.c1_referral, "c3Referral": config.c3_referral},
        str(root / "orders.json"),
    )
    feedback = FeedbackKnowledge(
        typed(FeedbackFile, validated(root / "feedback.json", schemas / "feedback.schema.json"),
              root / "feedback.json"),
        orders,
        str(root / "feedback.json"),
    )
    if feedback.data.systems.get("local") != cards.override_reason_system:
        raise KnowledgeError(
            f"{root / 'feedback.json'}: systems.local must equal cards.json overrideReasonSystem "
            f"({cards.override_reason_system})"
        )
    value_sets = load_valuesets(root / "valuesets", lambda p: validated(p, schemas / "valueset.schema.json"))
    by_role = resolve_roles(config, value_sets, root / "config.json")
    order = load_order_knowledge(root, cards, orders, frozenset(config.tiers))
    order_hooks = [s.hook for s in service.order_services]
    feedback.check_cards([service.hook, *order_hooks], order_hooks, OrderCards.kinds(), str(root / "feedback.json"))
    text = load_clinical_text(
        validated(root / "text" / "targets.json", schemas / "text-targets.schema.json"),
        validated(root / "text" / "context.json", schemas / "text-context.schema.json"),
    )
    knowledge = Knowledge(
        root=root,
        service=service,
        config=config,
        cards=cards,
        orders=orders,
        value_sets=value_sets,
        by_role=by_role,
        relevance=Relevance(by_role, order.imaging.mri_keys()),
        order=order,
        text=text,
        feedback=feedback,
        version=knowledge_version(root, config_overrides),
    )
    knowledge.card_parts  # noqa: B018 (built at load, not on the first request)
    knowledge.known_codes  # noqa: B018
    return knowledge


def load_order_knowledge(
    root: Path, cards: CardTexts, orders: OrderCatalog, tiers: frozenset[str]
) -> OrderKnowledge:
    """The order hooks' files, checked against their schemas and against cards.json / orders.json."""
    schemas = root / "schemas"
    path = root / "spine-imaging.json"
    imaging = spine_imaging(validated(path, schemas / "spine-imaging.schema.json"), str(path))
    path = root / "order-decisions.json"
    decisions = typed(OrderDecisions, validated(path, schemas / "order-decisions.schema.json"), path)
    mri_labels = [
        len(o.label)
        for o in orders.orders.values()
        if (study := imaging.classify(c.model_dump() for c in o.codings)) and study.modality == "MRI"
    ]
    longest = max(mri_labels, default=0)
    links = {name: link.url for name, link in cards.links.items()}
    check_order_decisions(decisions, imaging, links, longest, str(path))
    unknown = sorted(t for t in decisions.red_flag_tiers if t not in tiers or t not in orders.plans)
    if unknown:
        raise KnowledgeError(f"{path}: redFlagTiers {unknown} are not tiers with a plan in config/orders.json")
    return OrderKnowledge(imaging, decisions)
