"""Typed view of ``cards/config.json``: thresholds, windows and switches (CLINICAL_RULES.md Decisions 2-5)."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Role(StrEnum):
    """Every value set the rules read; ``config.json`` binds each role to a ValueSet URL."""

    BACK_PAIN = "backPain"
    BACK_PAIN_CHRONIC = "backPainChronic"
    BACK_PAIN_PREGNANCY = "backPainPregnancy"
    REGION_LUMBAR = "regionLumbar"
    REGION_THORACIC = "regionThoracic"
    CANCER = "cancer"
    CANCER_HISTORY = "cancerHistory"
    CANCER_PAIN = "cancerPain"
    CANCER_BONE_HIGH_RISK = "cancerBoneHighRisk"
    NECK_PAIN = "neckPain"
    NEURO_EMERGENCY = "neuroEmergency"
    NEURO_CORD = "neuroCord"
    NEURO_SYMPTOM = "neuroSymptom"
    NEURO_LOW_SPECIFICITY = "neuroLowSpecificity"
    RADICULAR_PAIN = "radicularPain"
    BODY_WEIGHT = "bodyWeight"
    WEIGHT_LOSS_CODED = "weightLossCoded"
    WEIGHT_LOSS_UNEXPLAINED = "weightLossUnexplained"
    WEIGHT_LOSS_EXPLAINED = "weightLossExplained"
    WEIGHT_LOSS_MEDICATION = "weightLossMedication"
    PHYSICAL_THERAPY = "physicalTherapy"
    OPIOID = "opioid"
    NSAID = "nsaid"
    PARACETAMOL = "paracetamol"
    NEUROPATHIC = "neuropathic"
    MUSCLE_RELAXANT = "muscleRelaxant"
    SPINE_MRI = "spineMri"
    SPINE_MRI_WHOLE = "spineMriWhole"
    SPINE_MRI_LUMBOSACRAL = "spineMriLumbosacral"
    SPINE_MRI_THORACIC = "spineMriThoracic"
    SPINE_MRI_CERVICAL = "spineMriCervical"
    SYMPTOM_OBSERVATION = "symptomObservation"
    PAIN_FINDING = "painFinding"
    EXACERBATING_FACTOR = "exacerbatingFactor"
    RESTING_STATE = "restingState"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class TreatmentFailure(_Model):
    min_days: int
    max_days: int
    onset_allowance_days: int


class MedicationResistance(_Model):
    escalation_days: int
    onset_allowance_days: int


class WeightLoss(_Model):
    baseline: str
    postpartum_months: int
    percent: float
    kilogram_rule: bool
    kilograms: float
    latest_within_days: int
    baseline_window_days: int
    baseline_min_gap_days: int
    coded_within_days: int
    exclusion_window_days: int
    # Ingredient words of weight-loss medications (GLP-1 agonists and others), read in a medication's display or
    # text when none of its codes is in the weight-loss medication value set (a reference with a display only).
    medication_keywords: tuple[str, ...] = ()

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore", ignored_types=(cached_property,)
    )

    @cached_property
    def medication_regex(self) -> re.Pattern[str] | None:
        words = "|".join(re.escape(w) for w in self.medication_keywords)
        return re.compile(rf"\b(?:{words})\b", re.IGNORECASE) if words else None


class RecentMri(_Model):
    within_days: int
    critical_within_hours: int


class RedFlagSigns(_Model):
    """Revision 2 item 27: which features are strong or weak C3 signs, and what lets one weak sign make C3."""

    strong: tuple[str, ...]
    weak: tuple[str, ...]
    weak_needed: int
    single_weak_with: tuple[str, ...]


class BloodTestRule(_Model):
    min_age: int
    gender: str | None = None


class NightPain(_Model):
    """``free_text``: read night/rest pain from text (the phrases are in cards/text/targets.json)."""

    free_text: bool


class CancerKeywords(_Model):
    """``enabled``: the cancer keyword fallback (item 29 b); its words are in cards/text/targets.json."""

    enabled: bool


class RulesConfig(_Model):
    tiers: dict[str, bool]
    minimum_age_years: int
    age_modifier_years: int
    persistence_days: int
    episode_cap_days: int
    neurological_recency_days: int
    persisting_deficit_max_days: int
    pregnancy_recency_months: int
    red_flag_signs: RedFlagSigns
    blood_tests: dict[str, BloodTestRule]
    treatment_failure: TreatmentFailure
    medication_resistance: MedicationResistance
    weight_loss: WeightLoss
    recent_mri: RecentMri
    night_pain: NightPain
    cancer_keywords: CancerKeywords
    analgesic_keywords: dict[str, str]
    c1_referral: str
    c3_referral: str
    value_sets: dict[str, str]

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        ignored_types=(cached_property,),
    )

    @cached_property
    def analgesic_regex(self) -> dict[str, re.Pattern[str]]:
        return {name: re.compile(rx, re.IGNORECASE) for name, rx in self.analgesic_keywords.items()}
