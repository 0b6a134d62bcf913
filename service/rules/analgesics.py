"""Analgesic class of a medication (CLINICAL_RULES.md §4.5), shared by F7 and F8.

A combination product with an opioid counts as an opioid (Readings 14). When no RxNorm code is known, the
ingredient words of the display/text decide (the evidence is marked as a keyword match).
"""

from __future__ import annotations

import re
from functools import lru_cache

from service.facts import Fact
from service.knowledge import Knowledge
from service.knowledge.config import Role
from service.rules.base import Evidence, coded

CLASSES: tuple[tuple[str, Role], ...] = (
    ("opioid", Role.OPIOID),
    ("nsaid", Role.NSAID),
    ("paracetamol", Role.PARACETAMOL),
    ("neuropathic", Role.NEUROPATHIC),
    ("muscle-relaxant", Role.MUSCLE_RELAXANT),
)

LABELS = {
    "opioid": "an opioid",
    "nsaid": "an NSAID",
    "paracetamol": "paracetamol",
    "neuropathic": "a neuropathic agent",
    "muscle-relaxant": "a muscle relaxant",
}


def classify(fact: Fact, k: Knowledge) -> tuple[str, Evidence] | None:
    for name, role in CLASSES:
        ev = coded(fact, k.vs(role))
        if ev is not None:
            return name, ev
    text = " ".join(filter(None, [fact.text, *fact.displays]))
    hit = _keyword_class(text, tuple(k.config.analgesic_regex[name] for name, _ in CLASSES)) if text else None
    if hit is None:
        return None
    name, matched = hit
    return name, Evidence(ref=fact.ref, date=fact.date, what=fact.text or text, text_match=matched, by_keyword=True)


Classes = tuple[tuple[str, Evidence] | None, ...]


def classify_all(medications: tuple[Fact, ...], k: Knowledge) -> Classes:
    """Each medication's class, in order: F7 and F8 both read every medication's class, found once here."""
    return tuple(classify(med, k) for med in medications)


@lru_cache(maxsize=2048)
def _keyword_class(text: str, patterns: tuple[re.Pattern[str], ...]) -> tuple[str, str] | None:
    """The first class (in CLASSES order) whose keywords occur in ``text``, with the words matched.

    Cached: medication texts come from a small vocabulary, and F7 and F8 both classify every medication.
    """
    for (name, _role), pattern in zip(CLASSES, patterns, strict=True):
        hit = pattern.search(text)
        if hit is not None:
            return name, hit.group(0)
    return None
