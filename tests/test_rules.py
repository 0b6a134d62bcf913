"""Rule boundaries and conventions, each on a minimal record (T = 2026-03-15T10:00Z)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scripts.fixture_kit import (
    AS_OF,
    ICD,
    LOINC,
    SCT,
    born_years_ago,
    cc,
    condition,
    day,
    imaging,
    instant,
    med,
    patient,
    procedure,
    symptom,
    weight,
)
from service.knowledge import load_knowledge
from tests.support.engine import CARDS_DIR
from tests.support.records import run

LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
NIGHT = cc(SCT, "279039007", "Low back pain (finding)")
C5_ON = {"tiers": {"C1": True, "C1M": True, "C2": True, "C3": True, "C3R": True, "C4": True, "C5": True}}


def base(s: str, onset: int = 20, age: int = 55) -> list[dict]:
    return [patient(s, born_years_ago(age)), condition(s, "bp", LBP, day(onset))]


@pytest.mark.parametrize(("onset", "persistent"), [(41, False), (42, True)])
def test_persistence_starts_at_42_whole_days(onset: int, persistent: bool) -> None:
    result = run("p", base("p", onset), k=load_knowledge(CARDS_DIR, C5_ON))
    assert ("F2" in result.flags) is persistent
    assert result.tier == ("C5" if persistent else None)


@pytest.mark.parametrize(("latest", "fires"), [(95.1, False), (95.0, True)])
def test_weight_loss_fires_at_5_0_percent(latest: float, fires: bool) -> None:
    res = [*base("w"), weight("w", "a", instant(200), 100.0), weight("w", "b", instant(3), latest)]
    result = run("w", res)
    assert ("F5" in result.flags) is fires
    assert result.tier == ("C3" if fires else None)


def test_weight_baseline_must_be_30_to_365_days_before_the_latest() -> None:
    res = [
        *base("w"),
        weight("w", "a", instant(400), 100.0),
        weight("w", "b", instant(20), 100.0),
        weight("w", "c", instant(3), 90.0),
    ]
    assert "F5" not in run("w", res).flags  # the 100 kg inside the window is only 17 days before the latest


@pytest.mark.parametrize(("deficit_days", "tier"), [(30, "C1"), (31, "C3")])
def test_neurological_deficit_counts_for_30_days(deficit_days: int, tier: str | None) -> None:
    """Revision 2 item 23: an emergency sign older than 30 days is a persisting deficit (strong C3 sign)."""
    res = [
        *base("n", onset=60),
        condition("n", "d", cc(SCT, "449813001", "Numbness of saddle area (finding)"), day(deficit_days)),
    ]
    assert run("n", res).tier == tier


def test_low_specificity_weakness_needs_to_follow_the_back_pain() -> None:
    weak = cc(ICD, "R53.1", "Weakness")
    before = [*base("l", onset=10), condition("l", "d", weak, day(12))]
    after = [*base("l", onset=10), condition("l", "d", weak, day(8))]
    assert run("l", before).tier is None
    assert run("l", after).tier == "C3"  # a neurological symptom without cancer: strong C3 sign (item 23)


@pytest.mark.parametrize(("started", "fires"), [(27, False), (28, True), (180, True), (181, False)])
def test_treatment_failure_window_28_to_180_days(started: int, fires: bool) -> None:
    res = [
        *base("t", onset=185),
        procedure("t", "pt", day(started), cc(SCT, "229064008", "Movement therapy")),
    ]
    assert ("F7" in run("t", res).flags) is fires


def test_treatment_may_start_7_days_before_the_back_pain() -> None:
    pt = cc(SCT, "229064008", "Movement therapy")
    assert "F7" in run("t", [*base("t", onset=40), procedure("t", "pt", day(47), pt)]).flags
    assert "F7" not in run("t", [*base("t", onset=40), procedure("t", "pt", day(48), pt)]).flags


def test_combination_product_counts_as_opioid_escalation() -> None:
    res = [
        *base("m"),
        med("m", "a", day(15), "209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]"),
        med("m", "b", day(8), "856987", "Acetaminophen 300 MG / Hydrocodone Bitartrate 5 MG Oral Tablet"),
    ]
    result = run("m", res)
    assert "F8" in result.flags and result.tier == "C3"


def test_medication_class_by_keyword_when_the_code_is_unknown() -> None:
    res = [
        *base("m"),
        med("m", "a", day(15), "0000001", "naproxen 500 mg tablet"),
        med("m", "b", day(6), "0000002", "morphine sulfate 10 mg"),
    ]
    assert "F8" in run("m", res).flags


MRI = cc(LOINC, "30854-4", "MR Cervical and thoracic and lumbar spine WO contrast")


def _c1(s: str) -> list[dict]:
    return [
        *base(s, onset=10),
        condition(s, "d", cc(SCT, "23042008", "Spinal paraparesis (finding)"), day(1)),
    ]


@pytest.mark.parametrize(("hours", "suppressed"), [(23, True), (25, False)])
def test_c1_mri_suppression_needs_24_hours_on_instants(hours: int, suppressed: bool) -> None:
    res = [*_c1("m"), imaging("m", "i", (AS_OF - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"), MRI)]
    card = run("m", res).cards[0]
    codes = [
        a.resource["code"]["coding"][0]["code"] for s in card.suggestions for a in s.actions if a.resource
    ]
    assert ("30854-4" not in codes) is suppressed
    assert "306254002" in codes


@pytest.mark.parametrize(("days", "suppressed"), [(1, True), (2, False)])
def test_c1_mri_suppression_date_only_means_today_or_yesterday(days: int, suppressed: bool) -> None:
    res = [*_c1("m"), imaging("m", "i", day(days), MRI)]
    codes = [s.label for s in run("m", res).cards[0].suggestions]
    assert (not any("MRI" in label for label in codes)) is suppressed


@pytest.mark.parametrize(("days", "suppressed"), [(30, True), (31, False)])
def test_c3_mri_suppression_30_days(days: int, suppressed: bool) -> None:
    res = [
        *base("m", onset=40),
        symptom("m", "r", instant(1), NIGHT, at_rest=True),
        imaging("m", "i", day(days), MRI),
    ]
    card = run("m", res).cards[0]
    labels = [s.label for s in card.suggestions]
    assert (not any("MRI" in x or "CT" in x for x in labels)) is suppressed
    assert any("orthopaedic" in x for x in labels)
    assert ("review the result" in (card.detail or "")) is suppressed


def test_undated_cancer_counts_as_before_the_back_pain() -> None:
    res = [
        *base("u"),
        condition(
            "u", "ca", cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)"), None, recorded=None
        ),
    ]
    del res[-1]["recordedDate"]
    assert run("u", res).tier == "C2"


@pytest.mark.parametrize(
    ("verification", "counts"),
    [("provisional", False), ("refuted", False), ("confirmed", True), (None, True)],
)
def test_cancer_verification_status(verification: str | None, counts: bool) -> None:
    res = [
        *base("v"),
        condition(
            "v",
            "ca",
            cc(ICD, "C50.911", "Malignant neoplasm of unsp site of right female breast"),
            day(400),
            verification=verification,
        ),
    ]
    assert ("F3" in run("v", res).flags) is counts


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("Metastatic carcinoma of unknown primary", True),
        ("Basal cell carcinoma of skin", False),
        ("Suspected malignancy", False),
    ],
)
def test_cancer_keyword_fallback_only_for_uncoded_conditions(text: str, counts: bool) -> None:
    res = [*base("k"), condition("k", "ca", {"text": text}, day(400))]
    assert ("F3" in run("k", res).flags) is counts


@pytest.mark.parametrize("code", ["C44.91", "C4491", "c44.91"])
def test_non_melanoma_skin_cancer_never_counts(code: str) -> None:
    res = [
        *base("s"),
        condition("s", "ca", cc(ICD, code, "Basal cell carcinoma of skin, unspecified"), day(400)),
    ]
    assert "F3" not in run("s", res).flags


def test_unreadable_resource_is_skipped_and_counted_not_fatal() -> None:
    bad = condition("b", "bad", LBP, day(10))
    bad["onsetDateTime"] = "last tuesday"
    result = run("b", [*base("b"), bad, {"resourceType": "Condition", "code": "not-a-concept", "id": "b-x"}])
    assert result.skipped_resources == 2
    assert result.tier is None


def test_missing_prefetch_keys_are_reported_as_not_evaluated_when_they_could_change_the_tier() -> None:
    res = [
        patient("x", born_years_ago(55)),
        condition("x", "bp", LBP, day(20), note="Pain wakes her at night."),
    ]
    result = run("x", res, unavailable=frozenset({"observations", "medicationRequests", "imagingStudies"}))
    assert result.tier == "C3"
    detail = result.cards[0].detail or ""
    assert "the EHR did not provide observations" in detail  # a deficit there would make it C1
    assert "medicationRequests" not in detail  # escalating analgesia would still be C3
    assert "imagingStudies" not in detail  # a recent MRI changes the orders, not the tier


def test_uuids_are_deterministic_per_hook_instance() -> None:
    res = [*base("d"), symptom("d", "r", instant(1), NIGHT, at_rest=True)]
    a, b, c = run("d", res, hook="h1"), run("d", res, hook="h1"), run("d", res, hook="h2")
    assert a.cards[0].uuid == b.cards[0].uuid != c.cards[0].uuid
    assert [s.uuid for s in a.cards[0].suggestions] == [s.uuid for s in b.cards[0].suggestions]


def test_thoracic_and_lumbar_pain_together_give_whole_spine() -> None:
    res = [
        *base("r"),
        condition("r", "bp2", cc(ICD, "M54.6", "Pain in thoracic spine"), day(10)),
        symptom("r", "x", instant(1), NIGHT, at_rest=True),
    ]
    labels = [s.label for s in run("r", res).cards[0].suggestions]
    assert any("MRI whole spine" in label for label in labels)
