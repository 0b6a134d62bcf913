"""The clinical text step on its labelled sentence set (CLINICAL_RULES.md item 30, item 29 b).

tests/text/sentences.tsv holds 185 sentences written for this project; each category and each sign is held to
a floor, and the sentences the issue names are checked one by one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.text.evaluation import read_rows, score
from service.text.pipeline import SENTENCE_CHARS, ClinicalText
from tests.support.engine import knowledge

SENTENCES = Path(__file__).resolve().parent / "text" / "sentences.tsv"
ROWS = read_rows(SENTENCES)
CATEGORIES = sorted({r.category for r in ROWS})
SIGNS = sorted({r.sign for r in ROWS})


@pytest.fixture(scope="module")
def ct() -> ClinicalText:
    return knowledge().text


@pytest.fixture(scope="module")
def scores(ct: ClinicalText):
    return score(ct, ROWS)


def test_the_set_has_at_least_150_sentences_of_every_kind() -> None:
    assert len(ROWS) >= 150
    needed = {"positive", "negated", "hypothetical", "family", "historical", "uncertain", "boundary",
              "spelling", "abbreviation"}
    assert needed <= set(CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_accuracy_per_category(scores, category: str) -> None:
    s = scores[1][category]
    assert s.accuracy >= 0.95, s.wrong


@pytest.mark.parametrize("sign", SIGNS)
def test_precision_and_recall_per_sign(scores, sign: str) -> None:
    s = scores[0][sign]
    assert s.precision >= 0.95 and s.recall >= 0.95, s.wrong


def counted(ct: ClinicalText, text: str) -> set[str]:
    return {m.sign for m in ct.read(text) if m.counted}


@pytest.mark.parametrize(
    "text",
    [
        "Denies night pain.",
        "no night pain, no weight loss, no saddle anaesthesia",
        "Red flags negative: night pain, weight loss, saddle anaesthesia.",
        "Return if weakness or retention develop.",
        "Father had night sweats.",
        "Mother had breast cancer.",
        "Night pain last year, settled.",
        "?CES",
        "Rule out cauda equina syndrome.",
        "Worked overnight; back pain tonight.",
        "Works night shift.",
    ],
)
def test_the_issues_examples_count_nothing(ct: ClinicalText, text: str) -> None:
    assert counted(ct, text) == set()


def test_a_screen_of_negatives_is_read_as_negatives_not_as_nothing(ct: ClinicalText) -> None:
    found = ct.read("no night pain, no weight loss, no saddle anaesthesia")
    assert [m.sign for m in found] == ["night-pain", "weight-loss", "neuro-emergency"]
    assert all("NEGATED_EXISTENCE" in m.modifiers for m in found)


def test_positive_signs_in_one_note_are_all_found(ct: ClinicalText) -> None:
    note = "LBP 6/52. Pain wakes her at night.\nLost 6 kg since June.\nNo better despite physio. Saddle numbness today."
    assert counted(ct, note) == {"night-pain", "weight-loss", "treatment-failure", "neuro-emergency"}


def test_cancer_terminology_of_item_29(ct: ClinicalText) -> None:
    assert counted(ct, "History of malignant neoplasm of prostate") == {"cancer"}
    assert counted(ct, "Prostate cancer") == {"cancer"}
    assert counted(ct, "Basal cell carcinoma of skin") == set()
    assert counted(ct, "Neoplasm of uncertain behavior of prostate") == set()


def test_the_sentence_shown_is_at_most_120_characters_and_keeps_the_match(ct: ClinicalText) -> None:
    long = ("Seen today with her daughter who translated, long discussion about work, housing, sleep hygiene and "
            "exercise, and she mentions that the pain wakes her at night most nights now, which is new.")
    (m,) = [m for m in ct.read(long) if m.counted]
    assert len(m.sentence) <= SENTENCE_CHARS
    assert "wakes her at night" in m.sentence


def test_a_pattern_naming_an_unknown_word_list_stops_loading() -> None:
    import copy
    import json

    from service.errors import KnowledgeError
    from tests.support.engine import CARDS_DIR

    targets = json.loads((CARDS_DIR / "text" / "targets.json").read_text(encoding="utf-8"))
    context = json.loads((CARDS_DIR / "text" / "context.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(targets)
    bad["signs"][0]["patterns"].append([{"LOWER": {"IN": "@no-such-list"}}])
    with pytest.raises(KnowledgeError, match="cannot be compiled"):
        ClinicalText(bad, context)
