"""cards/ loads, and a broken knowledge file stops start-up with a message naming the file and the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.errors import KnowledgeError
from service.fixtures_catalog import list_cases
from service.knowledge import load_knowledge
from service.knowledge.config import Role
from service.knowledge.valuesets import normalise
from tests.support.engine import CARDS_DIR, knowledge
from tests.support.shared import shared


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    target = tmp_path / "cards"
    shutil.copytree(CARDS_DIR, target)
    return target


def edit(path: Path, change: callable) -> None:  # type: ignore[valid-type]
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_shipped_knowledge_loads() -> None:
    k = knowledge()
    assert k.config.tiers == {"C1": True, "C1M": True, "C2": True, "C3": True, "C3R": True, "C4": True, "C5": False}
    assert k.config.persistence_days == 42 and k.config.weight_loss.percent == 5.0


def test_schema_violation_names_file_and_place(cards: Path) -> None:
    edit(cards / "config.json", lambda d: d.update(persistenceDays="six weeks"))
    with pytest.raises(KnowledgeError, match=r"config\.json fails config\.schema\.json at persistenceDays"):
        load_knowledge(cards)


def test_template_with_unknown_placeholder_is_refused(cards: Path) -> None:
    edit(cards / "cards.json", lambda d: d["texts"].update(mriDone="MRI on {date} at {hospital}"))
    with pytest.raises(KnowledgeError, match=r"unknown placeholder.*hospital"):
        load_knowledge(cards)


def test_unresolved_value_set_reference_is_refused(cards: Path) -> None:
    (cards / "valuesets" / "spine-mri.json").unlink()
    with pytest.raises(KnowledgeError, match="spineMri"):
        load_knowledge(cards)


def test_plan_naming_an_unknown_order_is_refused(cards: Path) -> None:
    edit(cards / "orders.json", lambda d: d["plans"]["C2"].update(referrals=["referral-astrologer"]))
    with pytest.raises(KnowledgeError, match="referral-astrologer"):
        load_knowledge(cards)


def test_invalid_json_is_refused(cards: Path) -> None:
    (cards / "cards.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid JSON"):
        load_knowledge(cards)


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("http://hl7.org/fhir/sid/icd-10-cm", "m5450", ("http://hl7.org/fhir/sid/icd-10-cm", "M54.50")),
        ("http://hl7.org/fhir/sid/icd-10", "M54.50", ("http://hl7.org/fhir/sid/icd-10-cm", "M54.50")),
        ("http://hl7.org/fhir/sid/icd-10-cm", "R64", ("http://hl7.org/fhir/sid/icd-10-cm", "R64")),
        ("http://snomed.info/sct", " 279039007 ", ("http://snomed.info/sct", "279039007")),
    ],
)
def test_code_normalisation(system: str, code: str, expected: tuple[str, str]) -> None:
    assert normalise(system, code) == expected


def test_cancer_set_has_no_benign_in_situ_or_nmsc_codes() -> None:
    k = knowledge()
    cancer = k.vs(Role.CANCER)
    assert cancer.id == "cancer"
    icd = [code for system, code in cancer.codes if "icd" in system]
    assert icd and all(code.startswith("C") and not code.startswith("C44") for code in icd)
    nmsc = shared("data", "valuesets", "nmsc-snomed-from-cancer-vs.tsv")
    codes = {line.split("\t")[0] for line in nmsc.read_text(encoding="utf-8").splitlines()[1:]}
    assert not codes & {code for _, code in cancer.codes}
    assert not any("benign" in d.lower() or "in situ" in d.lower() for d in cancer.displays.values())


def test_prefetch_of_a_case_looks_like_an_ehr_request() -> None:
    k = knowledge()
    case = next(c for c in list_cases() if c.name.startswith("C3--in--weight-loss"))
    prefetch = case.prefetch(k.service)
    assert set(prefetch) == set(k.service.prefetch)
    assert prefetch["patient"]["resourceType"] == "Patient"
    assert prefetch["observations"]["type"] == "searchset"
    assert len(prefetch["observations"]["entry"]) == 2
    assert prefetch["imagingStudies"]["entry"] == []
