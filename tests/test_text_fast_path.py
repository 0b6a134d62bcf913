"""The fast clinical-text path gives exactly what the full pipeline gives (issue 13).

``ClinicalText.read`` = ``read_uncached`` (only segments that can hold a target go through the matcher and
ConText, service/text/prefilter.py) plus per-process caches of notes and of segments; ``read_full`` puts every
text through the whole pipeline. They must agree on every labelled sentence, every text of the fixture cases,
the benchmark's notes and notes assembled from the labelled sentences with every kind of separator.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.bench.notes import NOTES, POOL, note_text
from service.fixtures_catalog import list_cases
from service.text.evaluation import read_rows
from service.text.pipeline import NOTE_CACHE, SEGMENT_CACHE, ClinicalText
from tests.support.engine import knowledge

HERE = Path(__file__).resolve().parent / "text"
SENTENCES = [r.text for name in ("sentences.tsv", "heldout.tsv", "heldout2.tsv") for r in read_rows(HERE / name)]


@pytest.fixture(scope="module")
def ct() -> ClinicalText:
    return knowledge().text


def _strings(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str):
        if key in ("text", "valueString", "display", "div"):
            yield node
        elif key == "data":
            with contextlib.suppress(binascii.Error, ValueError):
                yield base64.b64decode(node, validate=True).decode("utf-8", "replace")


def fixture_texts() -> list[str]:
    texts = {t for case in list_cases() for r in case.resources() for t in _strings(r) if t.strip()}
    return sorted(texts)


def assembled_notes() -> list[str]:
    """Labelled sentences joined into notes with separators that do and do not end a sentence."""
    rng = random.Random(13)
    separators = ["\n", " ", "; ", "\n\n", ". ", ", ", " - ", "\n- ", ": ", "\r\n", "  "]
    notes = []
    for _ in range(300):
        picked = rng.sample(SENTENCES, rng.randint(2, 9))
        parts = [s.rstrip(".") if rng.random() < 0.3 else s for s in picked]
        note = parts[0]
        for part in parts[1:]:
            note += rng.choice(separators) + part
        notes.append(note)
    return notes


EDGES = [
    "Night\tpain, worse at\nnight.",
    "Pain.\n\nAt night it is worse.",
    "no\nnight pain",
    "Pain wakes her at\nnight",
    "Denies:\nnight pain\nweight loss",
    "Red flags:\n- night pain: no\n- weight loss: none\n- saddle anaesthesia: absent",
    "CES?\nretention",
    "Lost 5\nkg",
    "Despite\nnaproxen. Pain persists",
    "ΣΙΣΥΦΟΣ night pain ΟΔΟΣ; naïve weight loss… ok",
    "Night pain 😀 since Monday",
    "   ",
    "Mother: breast cancer.\r\nMe: none",
    "Safety-netting given. Return if numbness\nin the saddle area.",
]


def test_the_fixture_cases_hold_clinical_notes_to_compare() -> None:
    texts = fixture_texts()
    assert len(texts) > 50
    assert any(len(t.split()) > 30 for t in texts)


@pytest.mark.parametrize(
    "group",
    ["sentences", "fixtures", "bench", "assembled", "edges"],
)
def test_fast_path_equals_full_path(ct: ClinicalText, group: str) -> None:
    texts = {
        "sentences": lambda: SENTENCES,
        "fixtures": fixture_texts,
        "bench": lambda: [note_text(i) for i in range(NOTES)] + list(POOL),
        "assembled": assembled_notes,
        "edges": lambda: EDGES,
    }[group]()
    differ = [t for t in texts if ct.read_uncached(t) != ct.read_full(t) or ct.read(t) != ct.read_full(t)]
    assert differ == []


def test_a_sentence_seen_in_another_note_is_read_from_the_segment_cache(ct: ClinicalText) -> None:
    first = "Seen in clinic today. Pain wakes her at night. Denies saddle anaesthesia."
    ct.read(first)
    cached = len(ct._segments)
    second = "Reviewed by phone today. Denies saddle anaesthesia. Pain wakes her at night."
    assert ct.read(second) == ct.read_full(second)
    assert len(ct._segments) == cached  # both kept sentences were already known
    assert [m.sign for m in ct.read(second)] == ["neuro-emergency", "night-pain"]


def test_the_prefilter_drops_sentences_without_targets(ct: ClinicalText) -> None:
    """The fast path is really taken: a benchmark note loses most of its tokens before the matcher."""
    assert ct._pipe.prefilter is not None
    doc = ct._pipe.nlp.make_doc(note_text(0))
    for _, component in ct._pipe.split:
        doc = component(doc)
    reduced = ct._pipe.prefilter.reduce(doc)
    assert reduced is not None and 0 < len(reduced) < len(doc) / 2
    assert ct._pipe.prefilter.reduce(ct._pipe.nlp.make_doc("Seen with her daughter today.")) is None


def test_the_note_cache_is_bounded_and_keeps_no_text(ct: ClinicalText) -> None:
    first = ct.read("Unique note 0: pain wakes her at night.")
    for i in range(NOTE_CACHE + 20):
        ct.read(f"Unique note {i + 1}: no night pain.")
    assert len(ct._notes) <= NOTE_CACHE
    assert all(isinstance(k, bytes) and len(k) == 16 for k in [*ct._notes, *ct._segments])
    assert len(ct._segments) <= SEGMENT_CACHE
    assert ct.read("Unique note 0: pain wakes her at night.") == first
    assert [m.sign for m in first if m.counted] == ["night-pain"]
