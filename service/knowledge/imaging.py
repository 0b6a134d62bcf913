"""Knowledge of the order hooks: spine imaging studies (``cards/spine-imaging.json``) and the decisions about
a draft spine CT or MRI (``cards/order-decisions.json``), typed and cross-checked at start-up.

Start-up fails when a template names a placeholder the service does not fill, when a summary could reach 140
characters with the longest study names, or when a study region has no name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from service.errors import KnowledgeError
from service.knowledge.templates import placeholders
from service.knowledge.valuesets import Key, normalise

MISMATCH_PLACEHOLDERS = frozenset(
    {"lead", "needed", "ordered", "tierSummary", "flags", "why", "priority", "deadline", "neededRegion"}
)
EARLY_PLACEHOLDERS = frozenset({"days", "ordered"})
SUMMARY_LIMIT = 139


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


@dataclass(frozen=True)
class Study:
    """What a code says about an imaging study: modality (MRI, CT) and region; never its descriptor."""

    modality: str
    region: str
    contrast: str
    key: Key


class RatingSpec(_Model):
    extension: str
    system: str
    consult_id_extension: str
    description: str


class TierSpec(_Model):
    indicator: str
    lead: str


class EarlySpec(_Model):
    within_days: int


class When(_Model):
    patient: str | None = None
    draft: str | None = None


class Then(_Model):
    rating: str
    card: str | None = None


class DecisionRow(_Model):
    id: str
    when: When
    then: Then
    why: str


class MismatchCard(_Model):
    summary: str
    detail: tuple[str, ...]
    why: dict[str, str]
    suggestion_label: str


class EarlyCard(_Model):
    indicator: str
    summary: str
    detail: tuple[str, ...]
    links: tuple[str, ...] = ()


class OrderCards(_Model):
    """The order hooks' cards by kind; feedback.json's ``cards`` limits name these kinds."""

    mismatch: MismatchCard
    early: EarlyCard

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)


class OrderDecisions(_Model):
    rating: RatingSpec
    red_flag_tiers: dict[str, TierSpec]
    covers: dict[str, tuple[str, ...]]
    early_imaging: EarlySpec
    decisions: tuple[DecisionRow, ...]
    study_names: dict[str, dict[str, str]]
    region_names: dict[str, str]
    cards: OrderCards

    def covering(self, needed_region: str) -> frozenset[str]:
        """Ordered regions that satisfy ``needed_region`` (a region always covers itself)."""
        return frozenset({needed_region, *self.covers.get(needed_region, ())})


@dataclass(frozen=True)
class SpineImaging:
    """Spine MRI and CT codes (LOINC, SNOMED CT, CPT) -> :class:`Study`."""

    url: str
    studies: Mapping[Key, Study]

    def classify(self, codings: Iterable[Any]) -> Study | None:
        """The study of the first coding that is a spine MRI or CT; None when none is."""
        for coding in codings:
            if not isinstance(coding, Mapping):
                continue
            system, code = coding.get("system"), coding.get("code")
            key = normalise(system, code) if isinstance(system, str) and isinstance(code, str) else None
            if key is not None and key in self.studies:
                return self.studies[key]
        return None

    def mri_keys(self) -> frozenset[Key]:
        """Every spine MRI code (the pre-validation filter keeps resources carrying one)."""
        return frozenset(key for key, study in self.studies.items() if study.modality == "MRI")

    def first_mri(self, keys: Iterable[Key]) -> Study | None:
        """The study of the first already-normalised code that is a spine MRI; None when none is."""
        for key in keys:
            study = self.studies.get(key)
            if study is not None and study.modality == "MRI":
                return study
        return None

    def of_concept(self, concept: Any) -> Study | None:
        """The study a CodeableConcept names, reading only its codings (text is never trusted for codes)."""
        codings = concept.get("coding") if isinstance(concept, Mapping) else None
        return self.classify(codings) if isinstance(codings, list) else None


@dataclass(frozen=True)
class OrderKnowledge:
    imaging: SpineImaging
    decisions: OrderDecisions


def spine_imaging(data: dict[str, Any], where: str) -> SpineImaging:
    studies: dict[Key, Study] = {}
    for row in data["studies"]:
        key = normalise(row["system"], row["code"])
        if key is None or key in studies:
            raise KnowledgeError(f"{where}: empty or repeated code {row['system']}|{row['code']}")
        studies[key] = Study(row["modality"], row["region"], row["contrast"], key)
    return SpineImaging(url=data["url"], studies=studies)


def _check(where: str, template: str, allowed: frozenset[str]) -> None:
    unknown = placeholders(template) - allowed
    if unknown:
        raise KnowledgeError(f"{where}: template names unknown placeholder(s) {sorted(unknown)}: {template!r}")


def check_order_decisions(
    d: OrderDecisions, imaging: SpineImaging, tier_links: Mapping[str, str], longest_order_label: int, where: str
) -> None:
    """Cross-checks the JSON Schema cannot express; ``tier_links`` are cards.json's guideline ids."""
    regions = {s.region for s in imaging.studies.values()}
    for modality in ("MRI", "CT"):
        missing = regions - set(d.study_names.get(modality, {}))
        if missing:
            raise KnowledgeError(f"{where}: studyNames.{modality} lacks {sorted(missing)}")
    if regions - set(d.region_names):
        raise KnowledgeError(f"{where}: regionNames lacks {sorted(regions - set(d.region_names))}")
    mismatch, early = d.cards.mismatch, d.cards.early
    for template in (mismatch.summary, *mismatch.detail, *mismatch.why.values(), mismatch.suggestion_label):
        _check(f"{where} cards.mismatch", template, MISMATCH_PLACEHOLDERS)
    for template in (early.summary, *early.detail):
        _check(f"{where} cards.early", template, EARLY_PLACEHOLDERS)
    for link in early.links:
        if link not in tier_links:
            raise KnowledgeError(f"{where}: cards.early links to unknown guideline {link!r}")
    longest_study = max(len(n) for names in d.study_names.values() for n in names.values())
    for tier, spec in d.red_flag_tiers.items():
        worst = mismatch.summary.format(lead=spec.lead, needed="x" * longest_order_label, ordered="x" * longest_study)
        if len(worst) > SUMMARY_LIMIT:
            raise KnowledgeError(f"{where}: the {tier} summary can reach {len(worst)} characters (limit 139)")
    if not any(not row.when.patient and not row.when.draft for row in d.decisions):
        raise KnowledgeError(f"{where}: decisions need a last row without conditions")
    for row in d.decisions:
        if row.then.card == "mismatch" and row.when.patient != "red-flag":
            raise KnowledgeError(f"{where}: decision {row.id}: the mismatch card needs a red-flag tier")
