"""What every rule returns: a Finding that carries its Evidence, never a bare bool.

Rules are pure: no I/O, no clock, no logging. They get T as an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from service.facts import Fact
from service.fhir.dates import When
from service.knowledge.valuesets import CompiledValueSet, Key


class Evidence(NamedTuple):
    """The resource that proves a flag, with its date, what matched and the measured value vs threshold."""

    ref: str
    date: When | None
    what: str
    value_set: str | None = None
    code: Key | None = None
    observed: str | None = None
    threshold: str | None = None
    text_match: str | None = None
    by_keyword: bool = False
    from_note: bool = False
    # Cited in the card's Sources line only: another evidence line of the same finding already says what it is
    # (F8: the earlier analgesic, named with its date in the escalation line).
    source_only: bool = False


class Missing(NamedTuple):
    """Why (part of) a feature could not be evaluated; ``reason`` names a template in cards.json."""

    reason: str
    what: str = ""
    days: int | None = None


class Finding(NamedTuple):
    feature: str
    present: bool
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[Missing, ...] = ()


def days_text(days: int) -> str:
    return f"{days} day{'' if days == 1 else 's'}"


def coded(fact: Fact, vs: CompiledValueSet) -> Evidence | None:
    """Evidence that ``fact`` carries a code of ``vs`` (display from the resource, else the value set)."""
    key = vs.first_match(fact.codes)
    if key is None:
        return None
    what = fact.display_of(key) or vs.displays.get(key) or fact.text or key[1]
    return Evidence(ref=fact.ref, date=fact.date, what=what, value_set=vs.id, code=key)


def value_coded(fact: Fact, vs: CompiledValueSet) -> Evidence | None:
    """Evidence that a symptom Observation's value is a code of ``vs``."""
    key = vs.first_match(fact.value_codes)
    if key is None:
        return None
    return Evidence(
        ref=fact.ref, date=fact.date, what=vs.displays.get(key, key[1]), value_set=vs.id, code=key
    )


def unavailable(keys: Iterable[str], missing_keys: frozenset[str]) -> tuple[Missing, ...]:
    """One Missing per prefetch key the EHR did not provide (none, at once, when the EHR provided them all)."""
    if not missing_keys:
        return ()
    return tuple(Missing("key-unavailable", what=key) for key in keys if key in missing_keys)
