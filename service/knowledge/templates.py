"""Card wording (``cards/cards.json``) and order templates (``cards/orders.json``), typed and cross-checked.

Start-up fails when a template names a placeholder the renderer does not supply, when a tier links to an
unknown guideline, or when a plan names an unknown order.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from service.errors import KnowledgeError

# The placeholders the renderer fills, per template; anything else is a start-up error.
TEXT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "actionLine": frozenset({"text"}),
    "evidenceHeading": frozenset(),
    "evidenceLine": frozenset({"label", "evidence"}),
    "evidence": frozenset({"what", "date", "since", "measured", "fromText", "observed", "threshold"}),
    "measured": frozenset({"observed", "threshold"}),
    "fromText": frozenset({"match"}),
    "fromNote": frozenset({"date", "sentence"}),
    "noteLabel": frozenset({"ref"}),
    "notEvaluated": frozenset({"items"}),
    "notEvaluatedItem": frozenset({"label", "reason"}),
    "sources": frozenset({"items"}),
    "sourceItem": frozenset({"ref", "codes"}),
    "mriDone": frozenset({"date"}),
    "pregnancy": frozenset(),
    "newSinceCancer": frozenset({"date"}),
    "newSinceUndatedCancer": frozenset(),
    "mriPending": frozenset({"date", "region", "deadline"}),
    "mriPartial": frozenset({"date", "covered", "region"}),
    "highRiskCancer": frozenset(),
    "thoracicOrNeckPain": frozenset(),
    "questionsHeading": frozenset(),
}
REASON_PLACEHOLDERS = frozenset({"what", "days"})
# Tier action lines: always-available values, and those a line may use only under its ``when`` condition.
ACTION_PLACEHOLDERS = frozenset({"neuroDays", "persistDays"})
CONDITIONAL_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "imaging": frozenset({"mri", "due"}),
    "referral": frozenset({"referral", "referralDue"}),
}
CONDITIONS = frozenset({"cancer", "noCancer", "imaging", "noImaging", "referral", "noReferral"})
SUGGESTION_PLACEHOLDERS = frozenset({"label", "due", "deadline"})
DEADLINE_PHRASES = {"hour": frozenset(), "hours": frozenset({"n"}), "days": frozenset({"n"}),
                    "week": frozenset(), "weeks": frozenset({"n"})}
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


class ActionLine(_Model):
    """One line a clinician acts on; ``when`` names a condition (CONDITIONS) under which it is shown."""

    text: str
    when: str | None = None


class TierText(_Model):
    indicator: str
    summary: str
    actions: tuple[ActionLine, ...] = ()
    questions: tuple[str, ...] = ()
    closing: str | None = None
    cancer_links: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    @property
    def wording(self) -> str:
        """Summary and every action line, for checks on the tier's wording as a whole."""
        return " ".join([self.summary, *(line.text for line in self.actions)])


class Layout(_Model):
    flag_order: tuple[str, ...] = ()


class CardTexts(_Model):
    source: LinkSpec
    # This service's own override-reason code system (the patient-view reasons are in cards/feedback.json,
    # whose "local" system must be this one).
    override_reason_system: str
    links: dict[str, LinkSpec]
    tiers: dict[str, TierText]
    layout: Layout = Layout()
    flag_labels: dict[str, str]
    texts: dict[str, str]
    evidence_by_flag: dict[str, str] = Field(default_factory=dict)
    reasons: dict[str, str]
    deadline_phrases: dict[str, str]
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
    order_deadline_hours: dict[str, int] = Field(default_factory=dict)
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
    _check(f"{where} evidenceByFlag", cards.evidence_by_flag.values(), TEXT_PLACEHOLDERS["evidence"])
    missing_phrases = set(DEADLINE_PHRASES) - set(cards.deadline_phrases)
    if missing_phrases:
        raise KnowledgeError(f"{where}: deadlinePhrases missing {sorted(missing_phrases)}")
    for key, phrase in cards.deadline_phrases.items():
        _check(f"{where} deadlinePhrases.{key}", [phrase], DEADLINE_PHRASES.get(key, frozenset()))
    for flag in cards.layout.flag_order:
        if flag not in cards.flag_labels:
            raise KnowledgeError(f"{where}: layout.flagOrder names {flag!r}, which has no flagLabel")
    for tier, text in cards.tiers.items():
        _check(f"{where} tiers.{tier}.summary", [text.summary], frozenset())
        for line in text.actions:
            if line.when is not None and line.when not in CONDITIONS:
                raise KnowledgeError(f"{where}: tiers.{tier} action has unknown condition {line.when!r}")
            allowed = ACTION_PLACEHOLDERS | CONDITIONAL_PLACEHOLDERS.get(line.when or "", frozenset())
            _check(f"{where} tiers.{tier}.actions", [line.text], allowed)
        _check(f"{where} tiers.{tier}", [*text.questions, text.closing or ""], ACTION_PLACEHOLDERS)
        for link in (*text.links, *text.cancer_links):
            if link not in cards.links:
                raise KnowledgeError(f"{where}: tiers.{tier} links to unknown guideline {link!r}")


def check_orders(orders: OrderCatalog, site_choices: Mapping[str, str], where: str) -> None:
    for name, order in orders.orders.items():
        if order.category not in orders.categories:
            raise KnowledgeError(f"{where}: order {name} has unknown category {order.category!r}")
    for tier, plan in orders.plans.items():
        for name in plan.order_deadline_hours:
            if name not in orders.orders:
                raise KnowledgeError(f"{where}: plan {tier} orderDeadlineHours names unknown order {name!r}")
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
