"""Clinical revision 2 (CLINICAL_RULES.md items 22-36): the knowledge files and the rules hold what was decided."""

from __future__ import annotations

import csv
import json
from datetime import date

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
    med,
    patient,
    weight,
)
from service.assessment import assess
from service.facts import build_facts
from service.fhir.dates import add_months
from service.fhir.medications import MedicationIndex, resolve
from service.fixtures_catalog import shared_dir
from service.knowledge.config import Role
from tests.support.engine import CARDS_DIR, knowledge
from tests.support.records import record, run

SHARED = shared_dir() / "data" / "valuesets"
LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
CPT = "http://www.ama-assn.org/go/cpt"


def tsv(name: str) -> list[dict[str, str]]:
    with (SHARED / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_order_code_carries_a_source_and_snomed_only_as_the_exact_partner() -> None:
    """Item 22: no SNOMED "with contrast" concept paired with a LOINC "without and with" study."""
    partners = {row["code"]: row["snomed_partner"] for row in tsv("spine-imaging-loinc-snomed.tsv")}
    orders = json.loads((CARDS_DIR / "orders.json").read_text(encoding="utf-8"))["orders"]
    checked = 0
    for name, order in orders.items():
        codes = {c["system"]: c["code"] for c in order["codings"]}
        assert all(c["source"].strip() for c in order["codings"]), name
        loinc, snomed = codes.get(LOINC), codes.get(SCT)
        if order["category"] == "imaging" and loinc and snomed:
            assert partners[loinc] == snomed, f"{name}: {snomed} is not the exact partner of {loinc}"
            checked += 1
    assert checked >= 5


def test_lab_codes_come_from_verified_rows_of_the_shared_list() -> None:
    """Item 28: every laboratory code is a row of spinal-malignancy-lab-tests.tsv that is not confidence M."""
    rows = {(r["system"], r["code"]): r for r in tsv("spinal-malignancy-lab-tests.tsv")}
    k = knowledge()
    labs = [o for o in k.orders.orders.values() if o.category == "laboratory"]
    assert {o.label for o in labs} >= {"Full blood count", "ESR", "CRP", "Calcium", "PSA"}
    for order in labs:
        for coding in order.codings:
            row = rows[(coding.system, coding.code)]
            assert row["source"] != "ELEXIS-LOINC" and row["display"] == coding.display
    category = k.orders.categories["laboratory"]
    assert (category.system, category.code) == (SCT, "108252007")


def test_no_cpt_descriptor_text_in_cards() -> None:
    """Item 26: CPT codes are matched by code only; their AMA descriptors never ship."""
    for path in sorted((CARDS_DIR / "valuesets").glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["expansion"]["contains"]:
            if entry["system"] == CPT:
                assert entry["display"] == f"CPT {entry['code']} (AMA descriptor not redistributed)", path.name


def test_value_set_split_of_items_22_to_24() -> None:
    k = knowledge()
    emergency, symptom, cord = k.vs(Role.NEURO_EMERGENCY), k.vs(Role.NEURO_SYMPTOM), k.vs(Role.NEURO_CORD)
    assert not emergency.codes & symptom.codes
    assert cord.codes <= emergency.codes
    assert (SCT, "449813001") in emergency.codes and (SCT, "16018391000119104") in symptom.codes
    assert (SCT, "236650000") not in emergency.codes  # chronic retention is not an acute red flag
    high = k.vs(Role.CANCER_BONE_HIGH_RISK)
    for code in ("C79.51", "C79.52", "C41.2", "C41.4", "C72.0", "C72.1", "C90.00", "C90.32"):
        assert high.contains((ICD, code)), code
    review = {r["code"] for r in tsv("malignant-bone-spine-disease-codes.tsv") if r["flag"].startswith("REVIEW")}
    assert review and not review & {c for _, c in high.codes}


def test_history_list_rows_counted_and_excluded_as_the_shared_readme_says() -> None:
    """Item 29 (a): personal and metastatic rows flagged count; never family, skin, negated or REVIEW rows."""
    history = knowledge().vs(Role.CANCER_HISTORY)
    for row in tsv("history-of-malignant-neoplasm-snomed.tsv"):
        assert history.contains((SCT, row["code"])) is row["flag"].startswith("count"), row["code"]


def test_generic_skin_malignancy_is_nmsc_but_melanoma_is_cancer() -> None:
    """Item 29 (c)."""
    cancer = knowledge().vs(Role.CANCER)
    assert not cancer.contains((SCT, "372130007"))  # Malignant neoplasm of skin
    assert cancer.contains((SCT, "93655004"))  # Malignant melanoma of skin


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 5, 15), 10, date(2026, 3, 15)),
        (date(2024, 12, 1), 2, date(2025, 2, 1)),
    ],
)
def test_add_months_clamps_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def _pregnant(onset: date) -> list[dict]:
    return [
        patient("g", born_years_ago(30)),
        condition("g", "bp", cc(SCT, "9121000119106", "Low back pain in pregnancy (finding)"), onset.isoformat()),
        condition("g", "wl", cc(SCT, "422868009", "Unexplained weight loss (finding)"), day(5)),
    ]


@pytest.mark.parametrize(("months", "pregnant"), [(10, True), (11, False)])
def test_pregnancy_code_counts_for_10_months(months: int, pregnant: bool) -> None:
    """Item 34: the MRI is proposed without contrast only while the pregnancy code is at most 10 months old."""
    onset = add_months(AS_OF.date(), -months)
    card = run("g", _pregnant(onset)).cards[0]
    codes = [a.resource["code"]["coding"][0]["code"] for s in card.suggestions for a in s.actions if a.resource]
    assert ("30679-5" in codes) is pregnant  # lumbar MRI without contrast
    assert ("24967-2" in codes) is not pregnant  # lumbar MRI without and with contrast


@pytest.mark.parametrize(("third_after", "fires"), [(6, False), (7, True)])
def test_third_class_must_start_7_days_after_the_first(third_after: int, fires: bool) -> None:
    """Item 32: a third analgesic class is escalation when it starts >= 7 days after the first class."""
    res = [
        patient("m", born_years_ago(40)),
        condition("m", "bp", LBP, day(30)),
        med("m", "a", day(20), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
        med("m", "b", day(19), "209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]"),
        med("m", "c", day(20 - third_after), "21949", "cyclobenzaprine"),
    ]
    assert ("F8" in run("m", res).flags) is fires


def test_whole_spine_mri_within_24_hours_needed_for_msccs_but_4_hour_cauda_equina_takes_lumbar() -> None:
    """Item 26: a lumbar MRI covers cauda equina signs (C1 lumbosacral) but not MSCC (whole spine)."""
    lumbar = cc(LOINC, "30679-5", "MR Lumbar spine WO contrast")
    ces = [
        patient("q", born_years_ago(40)),
        condition("q", "bp", LBP, day(5)),
        condition("q", "s", cc(SCT, "449813001", "Numbness of saddle area (finding)"), day(0)),
        imaging("q", "i", day(0), lumbar),
    ]
    mscc = [*ces[:2], condition("q", "ca", cc(SCT, "254837009", "Malignant neoplasm of breast"), day(400)),
            condition("q", "n", cc(SCT, "309537005", "Numbness of lower limb"), day(1)), ces[3]]
    ces_card, mscc_card = run("q", ces).cards[0], run("q", mscc).cards[0]
    assert run("q", mscc).tier == "C1M"
    assert not any("MRI" in s.label for s in ces_card.suggestions)
    assert any("MRI whole spine" in s.label for s in mscc_card.suggestions)
    assert "does not cover the whole spine" in (mscc_card.detail or "")


def test_every_code_a_golden_card_shows_has_a_source_in_cards() -> None:
    """Issue 12: a code in a card (evidence or order) is in a value set of cards/valuesets or in cards/orders.json."""
    import re

    from service.fixtures_catalog import list_cases

    k = knowledge()
    order_codes = {
        (c.system, c.code) for o in k.orders.orders.values() for c in o.codings
    } | {(c.system, c.code) for c in k.orders.categories.values()}
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    names = {"SNOMED CT": SCT, "SNOMED": SCT, "ICD-10-CM": ICD, "LOINC": LOINC, "RxNorm": rxnorm}
    shown = re.compile(r"\b(SNOMED CT|SNOMED|ICD-10-CM|LOINC|RxNorm) ([0-9A-Z][0-9A-Za-z.-]*[0-9A-Za-z])")
    checked = shown_codes = 0
    for case in list_cases():
        for card in case.expected()["cards"]:
            for system_name, code in shown.findall(card["detail"]):
                key = (names[system_name], code)
                assert any(vs.contains(key) for vs in k.value_sets.values()), (case.name, key)
                shown_codes += 1
            for suggestion in card.get("suggestions", []):
                for action in suggestion["actions"]:
                    resource = action["resource"]
                    for concept in (resource["code"], *resource.get("category", [])):  # an updated draft keeps its own
                        for coding in concept["coding"]:
                            assert (coding["system"], coding["code"]) in order_codes, (case.name, coding)
                            checked += 1
    assert checked > 500 and shown_codes > 100


def test_escalation_cites_the_earlier_analgesic_in_the_sources_not_as_another_line() -> None:
    """F8 evidence: the later order with the gap, and the earlier order it escalated from (Sources only)."""
    res = [
        patient("m", born_years_ago(40)),
        condition("m", "bp", LBP, day(30)),
        med("m", "ibu", day(20), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
        med("m", "tram", day(5), "835603", "tramadol hydrochloride 50 MG Oral Tablet"),
    ]
    result = run("m", res)
    k = knowledge()
    types = {key: spec.resource_type for key, spec in k.service.prefetch.items()}
    facts = build_facts(record("m", res), types, AS_OF, k.relevance.keep, k.text)
    f8 = assess(facts, k, AS_OF).findings["F8"]
    assert [e.ref for e in f8.evidence] == ["MedicationRequest/m-tram", "MedicationRequest/m-ibu"]
    assert [e.source_only for e in f8.evidence] == [False, True]
    card = result.cards[0]
    detail = card.detail or ""
    sources = detail.split("\n\n")[-1]
    assert "MedicationRequest/m-tram" in sources and "MedicationRequest/m-ibu" in sources
    assert sources.index("m-tram") < sources.index("m-ibu")
    lines = [line for line in detail.splitlines() if line.startswith("- Escalating analgesia")]
    assert len(lines) == 1 and "an opioid 15 days after an NSAID (" in lines[0]


def _weight_loss_on(*medication: dict) -> list[dict]:
    return [
        patient("w", born_years_ago(45)),
        condition("w", "bp", LBP, day(20)),
        weight("w", "a", day(200), 100.0),
        weight("w", "b", day(3), 90.0),
        *medication,
    ]


def _by_reference(display: str) -> dict:
    """A MedicationRequest whose Medication is nowhere to be read: resolved, as record assembly does, to the
    reference's display (item 33)."""
    raw = {
        "resourceType": "MedicationRequest", "id": "w-glp", "status": "active", "intent": "order",
        "medicationReference": {"reference": "Medication/not-in-the-prefetch", "display": display},
        "subject": {"reference": "Patient/w-pat"}, "authoredOn": day(60),
    }
    resolved = resolve(raw, MedicationIndex())
    assert resolved["medicationCodeableConcept"] == {"text": display}
    return resolved


@pytest.mark.parametrize(
    ("display", "explained"),
    [
        ("Semaglutide 2.4 mg/0.75 mL pen", True),
        ("OZEMPIC (semaglutide) 1 mg", True),
        ("tirzepatide 5 MG injection", True),
        ("Liraglutide 3 mg", True),
        ("Metformin 500 mg tablet", False),
        ("Bupropion 150 mg", False),
    ],
)
def test_a_weight_loss_medication_named_only_by_display_explains_the_loss(display: str, explained: bool) -> None:
    """A GLP-1 agonist (or another weight-loss ingredient) given by a reference with a display, no code."""
    assert "F5" in run("w", _weight_loss_on()).flags  # the loss alone
    assert ("F5" not in run("w", _weight_loss_on(_by_reference(display))).flags) is explained


def test_the_weight_loss_medication_keywords_are_ingredient_names_in_config() -> None:
    words = knowledge().config.weight_loss.medication_keywords
    assert {"semaglutide", "liraglutide", "tirzepatide", "dulaglutide", "exenatide"} <= set(words)
    assert all(w.isalpha() and w.islower() for w in words)
