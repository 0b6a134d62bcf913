"""Card wording (``cards/cards.json``) and order templates (``cards/orders.json``), typed and cross-checked.

Start-up fails when a template names a placeholder the renderer does not supply, when a tier links to an
unknown guideline, or when a plan names an unknown order.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from service.errors import KnowledgeError

# The placeholders the renderer fills, per template; anything else is a start-up error.
TEXT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "flagLine": frozenset({"label", "evidence"}),
    "evidence": frozenset({"what", "ref", "date"}),
    "measured": frozenset({"observed", "threshold"}),
    "fromText": frozenset({"match"}),
    "notEvaluatedLine": frozenset({"label", "reason"}),
    "mriDone": frozenset({"date", "ref"}),
    "pregnancy": frozenset({"ref"}),
    "newSinceCancer": frozenset({"date"}),
    "newSinceUndatedCancer": frozenset(),
    "mriPending": frozenset({"date", "ref", "region", "deadline"}),
    "mriPartial": frozenset({"date", "ref", "covered", "region"}),
    "highRiskCancer": frozenset({"ref"}),
    "thoracicOrNeckPain": frozenset({"ref"}),
    "signsLine": frozenset({"signs"}),
    "questionsHeading": frozenset(),
    "flagsHeading": frozenset(),
    "notEvaluatedHeading": frozenset(),
    "considerHeading": frozenset(),
}
REASON_PLACEHOLDERS = frozenset({"what", "days"})
INTRO_PLACEHOLDERS = frozenset({"neuroDays", "persistDays"})
SUGGESTION_PLACEHOLDERS = frozenset({"label", "deadline"})
REGION_KEYS = frozenset({"whole", "lumbar", "thoracic"})


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class LinkSpec(_Model):
    label: str
    url: str


class CodingSpec(_Model):
    system: str
    code: str
    display: str
    source: str | None = None


class ReasonSpec(_Model):
    code: str
    display: str


class TierText(_Model):
    indicator: str
    summary: str
    intro: str
    advice: tuple[str, ...] = ()
    cancer_advice: str | None = None
    cancer_links: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    closing: str | None = None
    links: tuple[str, ...] = ()


class CardTexts(_Model):
    source: LinkSpec
    # This service's own override-reason code system (the patient-view reasons are in cards/feedback.json,
    # whose "local" system must be this one).
    override_reason_system: str
    links: dict[str, LinkSpec]
    tiers: dict[str, TierText]
    flag_labels: dict[str, str]
    texts: dict[str, str]
    reasons: dict[str, str]
    suggestion_labels: dict[str, str]
    region_names: dict[str, str]
    sign_names: dict[str, str]


class OrderSpec(_Model):
    category: str
    label: str
    codings: tuple[CodingSpec, ...]


class LabPlan(_Model):
    """Revision 2 item 28: the blood tests of a tier, all in one suggestion."""

    priority: str
    deadline_hours: int
    tests: tuple[str, ...]
    conditional: dict[str, tuple[str, ...]] = {}


class PlanSpec(_Model):
    imaging_priority: str = "routine"
    referral_priority: str = "routine"
    deadline_hours: int = 24
    referral_deadline_hours: int | None = None
    mri: dict[str, str] = {}
    pregnancy_mri: dict[str, str] = {}
    ct: dict[str, str] = {}
    ct_recommended: bool = True
    site_referral: str | None = None
    referrals: tuple[str, ...] = ()
    cancer_referrals: tuple[str, ...] = ()
    labs: LabPlan | None = None


class OrderCatalog(_Model):
    categories: dict[str, CodingSpec]
    orders: dict[str, OrderSpec]
    plans: dict[str, PlanSpec]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _check(where: str, templates: Iterable[str], allowed: frozenset[str]) -> None:
    for template in templates:
        unknown = placeholders(template) - allowed
        if unknown:
            raise KnowledgeError(
                f"{where}: template names unknown placeholder(s) {sorted(unknown)}: {template!r}"
            )


def check_cards(cards: CardTexts, where: str) -> None:
    missing = set(TEXT_PLACEHOLDERS) - set(cards.texts)
    if missing:
        raise KnowledgeError(f"{where}: texts missing {sorted(missing)}")
    for key, template in cards.texts.items():
        _check(f"{where} texts.{key}", [template], TEXT_PLACEHOLDERS.get(key, frozenset()))
    _check(f"{where} reasons", cards.reasons.values(), REASON_PLACEHOLDERS)
    _check(f"{where} suggestionLabels", cards.suggestion_labels.values(), SUGGESTION_PLACEHOLDERS)
    for tier, text in cards.tiers.items():
        _check(f"{where} tiers.{tier}.summary", [text.summary], frozenset())
        _check(
            f"{where} tiers.{tier}",
            [text.intro, *text.advice, *text.questions, text.cancer_advice or "", text.closing or ""],
            INTRO_PLACEHOLDERS,
        )
        for link in (*text.links, *text.cancer_links):
            if link not in cards.links:
                raise KnowledgeError(f"{where}: tiers.{tier} links to unknown guideline {link!r}")


def check_orders(orders: OrderCatalog, site_choices: Mapping[str, str], where: str) -> None:
    for name, order in orders.orders.items():
        if order.category not in orders.categories:
            raise KnowledgeError(f"{where}: order {name} has unknown category {order.category!r}")
    for tier, plan in orders.plans.items():
        names = [
            *plan.mri.values(),
            *plan.pregnancy_mri.values(),
            *plan.ct.values(),
            *plan.referrals,
            *plan.cancer_referrals,
            *(plan.labs.tests if plan.labs else ()),
            *(name for names in (plan.labs.conditional.values() if plan.labs else ()) for name in names),
        ]
        if plan.site_referral:
            names.append(site_choices[plan.site_referral])
        for name in names:
            if name not in orders.orders:
                raise KnowledgeError(f"{where}: plan {tier} names unknown order {name!r}")
        for region_map in (plan.mri, plan.pregnancy_mri, plan.ct):
            unknown_regions = sorted(set(region_map) - REGION_KEYS)
            if unknown_regions:
                raise KnowledgeError(f"{where}: plan {tier} has unknown regions {unknown_regions}")
