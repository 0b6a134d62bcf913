"""The text pipeline is renewed before its vocabulary grows without bound (issue 17).

A blank spaCy pipeline keeps every string it has tokenised; a worker reading notes full of names, numbers
and typos grew 178 -> 498 MiB over 2,500 requests. ``ClinicalText`` builds a fresh pipeline in the background
once the vocabulary has grown by ``VOCAB_GROWTH`` strings; a renewal must never change an answer and must free
the old pipeline even under the service's GC tuning (rare collections, start-up objects frozen).
"""

from __future__ import annotations

import gc
import json
import random
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import service.text.pipeline as pipeline
from service.bench.notes import NOTES, note_text
from service.text.pipeline import ClinicalText
from tests.support.engine import CARDS_DIR

GROWTH = 3000
REFERENCE = [note_text(i) for i in range(min(NOTES, 40))] + [
    "Pain wakes her at night.",
    "Denies saddle anaesthesia. No bladder or bowel change.",
    "Mother had breast cancer. Unintentional weight loss of 6 kg.",
    "Possible foot drop on the left",
]


def _contents() -> tuple[dict[str, Any], dict[str, Any]]:
    text = CARDS_DIR / "text"
    return json.loads((text / "targets.json").read_text()), json.loads((text / "context.json").read_text())


@pytest.fixture
def ct(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClinicalText]:
    """A pipeline that renews every GROWTH new strings, under the service's GC regime: no automatic
    collections, and the start-up pipeline frozen as ``tune_gc`` freezes it."""
    monkeypatch.setattr(pipeline, "VOCAB_GROWTH", GROWTH)
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    built = ClinicalText(*_contents())
    gc.disable()
    gc.freeze()
    try:
        yield built
        built.wait_renewal()
    finally:
        if not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


def _novel_notes(seed: int) -> Iterator[str]:
    """Notes of words no vocabulary has seen: names, record numbers, typos."""
    rnd = random.Random(seed)
    while True:
        words = ["".join(rnd.choices("abcdefghijklmnopqrstuvwxyz", k=rnd.randint(6, 11))) for _ in range(30)]
        yield f"Seen by Dr {words[0].title()}, MRN {rnd.randint(10**6, 10**7)}. {' '.join(words[1:])}. Back pain."


def _read_until_renewed(ct: ClinicalText, renewals: int, notes: Iterator[str]) -> None:
    for _ in range(2000):  # ~100 notes add GROWTH strings
        if ct.renewals >= renewals:
            return
        ct.read(next(notes))
        ct.wait_renewal()
    raise AssertionError(f"{ct.renewals} renewals, strings {ct.strings()}")


def test_a_renewal_swaps_in_a_fresh_pipeline_that_reads_the_same(ct: ClinicalText) -> None:
    start = ct.strings()
    before = [ct.read_full(t) for t in REFERENCE]
    assert any(before)
    first = weakref.ref(ct._pipe.nlp)
    _read_until_renewed(ct, 1, _novel_notes(1))
    ct.wait_renewal()
    assert first() is None  # freed, not only swapped out
    assert ct.strings() < start + GROWTH  # the new words went with it
    assert [ct.read_full(t) for t in REFERENCE] == before
    assert [ct.read_uncached(t) for t in REFERENCE] == before
    assert [ct.read(t) for t in REFERENCE] == before


def test_the_vocabulary_stays_bounded_and_old_pipelines_are_freed(ct: ClinicalText) -> None:
    start = ct.strings()
    gone: list[weakref.ref[Any]] = []
    notes = _novel_notes(2)
    largest = 0
    for n in range(1, 4):
        gone.append(weakref.ref(ct._pipe.nlp))
        _read_until_renewed(ct, n, notes)
        ct.wait_renewal()
        largest = max(largest, ct.strings())
    for _ in range(200):  # and well past one more threshold
        ct.read(next(notes))
    ct.wait_renewal()
    assert ct.renewals >= 3
    assert max(largest, ct.strings()) < start + 2 * GROWTH
    assert [r() is None for r in gone] == [True] * len(gone)  # frozen start-up pipeline included


def test_reads_during_renewals_give_the_same_answers(ct: ClinicalText) -> None:
    """Each read holds one pipeline from start to end, so a swap in the middle of it changes nothing."""
    expected = [ct.read_full(t) for t in REFERENCE]
    wrong: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for text, want in zip(REFERENCE, expected, strict=True):
                if ct.read_uncached(text) != want:
                    wrong.append(text)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        _read_until_renewed(ct, 2, _novel_notes(3))
    finally:
        stop.set()
        thread.join()
    assert wrong == []
