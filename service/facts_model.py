"""The typed facts the rules read: one :class:`Fact` per clinical statement, grouped in PatientFacts."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from service.fhir.dates import When
from service.knowledge.valuesets import Key


class Fact(NamedTuple):
    """One clinical statement: where it comes from, its codes, its clinical date and status.

    A NamedTuple, not a frozen dataclass: a request builds dozens and a frozen dataclass costs three times
    as much to create (1.8 vs 0.6 µs with 13 fields).
    """

    ref: str
    codes: tuple[Key, ...]
    displays: tuple[str, ...]
    text: str | None
    date: When | None
    status: str | None = None
    active: bool = True
    verification: str | None = None
    notes: tuple[str, ...] = ()
    value_codes: tuple[Key, ...] = ()
    value_string: str | None = None
    weight_kg: float | None = None
    components: tuple[tuple[tuple[Key, ...], tuple[Key, ...]], ...] = ()
    recorded_only: bool = False  # a Condition dated only by recordedDate (Revision 2 item 35)

    def display_of(self, key: Key) -> str | None:
        for code, display in zip(self.codes, self.displays, strict=True):
            if code == key and display:
                return display
        return None


class TextFact(NamedTuple):
    """A counted mention of a sign in free text (CLINICAL_RULES.md item 30), produced by the data layer.

    ``source`` says where the text was: ``condition-label`` (a Condition's code.text or coding display),
    ``condition-note``, ``observation`` (symptom Observation valueString or note) or ``note`` (a clinical note,
    DocumentReference). ``date`` is the Annotation's time or its note's date, never a Condition's onset.
    """

    sign: str
    ref: str
    source: str
    date: When | None
    sentence: str
    phrase: str


class PatientFacts(NamedTuple):
    patient_ref: str
    birth_date: date | None
    conditions: tuple[Fact, ...]
    observations: tuple[Fact, ...]
    medications: tuple[Fact, ...]
    procedures: tuple[Fact, ...]
    service_requests: tuple[Fact, ...]
    diagnostic_reports: tuple[Fact, ...]
    care_plans: tuple[Fact, ...]
    imaging_studies: tuple[Fact, ...]
    unavailable: frozenset[str]
    skipped: int
    gender: str | None = None
    texts: tuple[TextFact, ...] = ()
    unread_notes: tuple[tuple[str, str], ...] = ()
