"""Which free texts are read, how each mention is dated, and the TextFacts the rules get (item 30).

Sources: every Condition's code.text and coding displays (the cancer keyword fallback, item 29 b, and text on
back-pain Conditions) and its notes; symptom Observations' valueString and notes; clinical notes. A mention is
dated by its Annotation's ``time``, else by the date of what it is written in: a Condition's ``recordedDate``
(never its onset), an Observation's effective date, a note's date. Rules decide which sources count for
which sign (back-pain Conditions only, within the episode, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from service.fact_readers import ConditionLike, ObservationLike, first_start
from service.facts_model import TextFact
from service.fhir import models as m
from service.fhir.dates import When
from service.text.documents import note_texts
from service.text.pipeline import ClinicalText, Mention

log = logging.getLogger(__name__)


def _read(ct: ClinicalText, text: str, label: bool = False) -> tuple[Mention, ...]:
    """The mentions of ``text``; a text the pipeline cannot read is skipped (logged without content)."""
    try:
        return ct.read_label(text) if label else ct.read(text)
    except (ValueError, IndexError, KeyError, TypeError, UnicodeError) as exc:
        log.warning("text.unreadable", extra={"error_type": type(exc).__name__})
        return ()


def _facts(ct: ClinicalText, text: str | None, ref: str, source: str, when: When | None) -> list[TextFact]:
    if not text:
        return []
    return [TextFact(x.sign, ref, source, when, x.sentence, x.phrase) for x in _read(ct, text) if x.counted]


def condition_texts(ct: ClinicalText, conditions: Iterable[ConditionLike]) -> list[TextFact]:
    out: list[TextFact] = []
    for c in conditions:
        ref = f"Condition/{c.id}"
        labels = dict.fromkeys(
            [c.code.text, *(coding.display for coding in c.code.coding)] if c.code else []
        )
        for label in labels:
            if label:
                out += [
                    TextFact(x.sign, ref, "condition-label", c.recordedDate, x.sentence, x.phrase)
                    for x in _read(ct, label, label=True)
                    if x.counted
                ]
        for note in c.note:
            out += _facts(ct, note.text, ref, "condition-note", note.time or c.recordedDate)
    return out


def observation_texts(ct: ClinicalText, observations: Iterable[ObservationLike]) -> list[TextFact]:
    out: list[TextFact] = []
    for o in observations:
        ref = f"Observation/{o.id}"
        when = first_start(o.effectiveDateTime, o.effectiveInstant, o.effectivePeriod, o.issued)
        out += _facts(ct, o.valueString, ref, "observation", when)
        for note in o.note:
            out += _facts(ct, note.text, ref, "observation", note.time or when)
    return out


def document_texts(
    ct: ClinicalText,
    docs: Iterable[m.DocumentReference],
    now: datetime,
    binaries: Mapping[str, Mapping[str, Any]],
) -> tuple[list[TextFact], list[tuple[str, str]]]:
    """TextFacts of the selected clinical notes, and (ref, reason) for each note that could not be read."""
    facts: list[TextFact] = []
    unread: list[tuple[str, str]] = []
    for note in note_texts(docs, now, binaries):
        if note.text is None:
            unread.append((note.ref, note.reason or "note-unreadable"))
        else:
            facts += _facts(ct, note.text, note.ref, "note", note.date)
    return facts, unread
