"""Where text findings enter the rules (CLINICAL_RULES.md item 30): sources, dates and what each sign gives."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from scripts.cases_text import LBP, note
from scripts.fixture_kit import SCT, born_years_ago, cc, condition, day, instant, patient, symptom
from tests.support.records import run


def base(s: str, onset: int = 20, age: int = 45) -> list[dict]:
    return [patient(s, born_years_ago(age)), condition(s, "bp", LBP, day(onset))]


def test_night_pain_in_another_conditions_note_does_not_count() -> None:
    other = condition("tr1", "knee", cc(SCT, "239873007", "Osteoarthritis of knee"), day(10),
                      note="Knee pain at night.")
    assert run("tr1", [*base("tr1"), other]).tier is None


def test_a_note_before_the_episode_does_not_count_but_one_within_it_does() -> None:
    before = run("tr2", [*base("tr2", onset=20), note("tr2", "n", instant(40), "Pain wakes her at night.")])
    within = run("tr3", [*base("tr3", onset=20), note("tr3", "n", instant(10), "Pain wakes her at night.")])
    assert (before.tier, within.tier) == (None, "C3R")  # one weak sign at 45 years, 20 days: C3R (item 27)


def test_weight_loss_and_treatment_failure_from_notes() -> None:
    weight = run("tr4", [*base("tr4"), note("tr4", "n", instant(3), "Unintentional weight loss of 6 kg.")])
    despite = run("tr5", [*base("tr5", onset=60), note("tr5", "n", instant(3), "No better despite physio.")])
    assert ("F5" in weight.flags, "F7" in despite.flags) == (True, True)


def test_a_neurological_symptom_in_text_is_mscc_with_cancer_and_a_strong_sign_without() -> None:
    text = note("tr6", "n", instant(2), "New numbness down the left leg.")
    assert run("tr6", [*base("tr6"), text]).tier == "C3"  # item 23: strong C3 sign without cancer
    ca = condition("tr7", "ca", cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)"), day(900))
    note7 = note("tr7", "n", instant(2), "New numbness down the left leg.")
    assert run("tr7", [*base("tr7"), ca, note7]).tier == "C1M"


def test_an_emergency_sign_in_text_older_than_30_days_is_not_c1() -> None:
    old = symptom("tr8", "s", instant(40), cc(SCT, "279039007", "Low back pain (finding)"),
                  text="Saddle anaesthesia reported.")
    assert run("tr8", [*base("tr8", onset=60), old]).tier is None


def test_cancer_written_in_a_note_is_a_cancer_history_and_family_cancer_is_not() -> None:
    own = run("tr9", [*base("tr9"), note("tr9", "n", instant(2), "Known metastatic prostate cancer.")])
    family = run("tr10", [*base("tr10"), note("tr10", "n", instant(2), "Her mother had metastatic cancer.")])
    assert (own.tier, family.tier) == ("C2", None)


def test_a_coded_condition_is_never_read_by_keyword() -> None:
    # Known to a value set as back pain: its text mentioning a tumour is not a cancer history.
    bp = condition("tr11", "bp", cc("http://hl7.org/fhir/sid/icd-10-cm", "M54.50", "Low back pain", "LBP, tumour?"),
                   day(20))
    assert run("tr11", [patient("tr11", born_years_ago(45)), bp]).tier is None


def test_a_sentence_from_fhir_is_escaped_in_the_card() -> None:
    text = "Pain wakes her at night, see <b>letter</b> *urgent*."
    result = run("tr12", [*base("tr12"), note("tr12", "n", instant(2), text)])
    assert result.tier == "C3R"
    detail = result.cards[0].detail
    assert "\\*urgent\\*" in detail and "\\<b>" in detail and " <b>" not in detail


def test_a_cord_level_sign_in_text_asks_for_the_whole_spine() -> None:
    cord = run("tr13", [*base("tr13"), note("tr13", "n", instant(0.2), "New paraparesis since this morning.")])
    ces = run("tr14", [*base("tr14"), note("tr14", "n", instant(0.2), "New saddle anaesthesia since this morning.")])
    assert (cord.tier, ces.tier) == ("C1", "C1")
    assert "MRI whole spine" in cord.cards[0].suggestions[0].label
    assert "MRI lumbosacral spine" in ces.cards[0].suggestions[0].label
