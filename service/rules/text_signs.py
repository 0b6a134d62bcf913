"""Where text findings enter the rules (CLINICAL_RULES.md item 30): which texts count for a back-pain sign.

The data layer has already read every free text with context (service/text) into TextFacts; here the rules
decide which of them count: text of an active back-pain Condition (code.text, note), of a symptom Observation
about back pain (valueString, note), or of a clinical note; and whether its date fits the sign's window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from service.facts import PatientFacts, TextFact
from service.fhir.dates import When, days_between
from service.knowledge import Knowledge
from service.rules.back_pain import BackPain, text_refs
from service.rules.base import Evidence

NOTE_SOURCES = frozenset({"note"})
CONDITION_SOURCES = frozenset({"condition-label", "condition-note"})
DateTest = Callable[[When | None, TextFact], bool]


def in_episode(start: When | None, now: datetime, undated_on_condition: bool = True) -> DateTest:
    """Dated on or after ``start`` and not after T; undated text on an active back-pain Condition counts
    when ``undated_on_condition`` (the text belongs to the episode's own record)."""

    def accept(when: When | None, tf: TextFact) -> bool:
        if when is None:
            return undated_on_condition and tf.source in CONDITION_SOURCES
        return start is not None and start.day <= when.day and when.at <= now

    return accept


def within_days(days: int, now: datetime) -> DateTest:
    """Dated within the last ``days`` days of T (a date is required)."""

    def accept(when: When | None, tf: TextFact) -> bool:
        return when is not None and 0 <= days_between(when, now) <= days

    return accept


def back_pain_text_refs(facts: PatientFacts, k: Knowledge, bp: BackPain) -> frozenset[str]:
    """Resources whose free text is about the back pain (found once, by :func:`back_pain`)."""
    return bp.text_refs if facts.texts else text_refs(facts, k, bp.conditions)


def sign_label(k: Knowledge, sign: str) -> str:
    found = k.text.signs.get(sign)
    return found.label if found else sign


def text_evidence(
    facts: PatientFacts,
    k: Knowledge,
    sign: str,
    refs: frozenset[str],
    dated: DateTest,
) -> list[Evidence]:
    """Evidence for each counted mention of ``sign`` in an accepted source whose date ``dated`` accepts.

    The label says the sign came from a note of its date, with the sentence (at most 120 characters).
    """
    out: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for tf in facts.texts:
        if tf.sign != sign or (tf.source not in NOTE_SOURCES and tf.ref not in refs):
            continue
        if not dated(tf.date, tf) or (tf.ref, tf.sentence) in seen:
            continue
        seen.add((tf.ref, tf.sentence))
        out.append(
            Evidence(
                ref=tf.ref,
                date=tf.date,
                what=k.text.source_labels.get(tf.source, tf.source),
                text_match=tf.sentence,
                by_keyword=True,
                from_note=True,
            )
        )
    return out
