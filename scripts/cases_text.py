"""Fixture cases of the clinical text step (CLINICAL_RULES.md items 29 b and 30): notes read with context.

Clinical notes are US Core DocumentReferences (category clinical-note) with text/plain or text/html inline;
every sentence here was written for these cases.
"""

from __future__ import annotations

import base64
from typing import Any

from fixture_kit import ICD, SCT, Res, born_years_ago, cc, condition, day, instant, patient, symptom

LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
LBP_SCT = cc(SCT, "279039007", "Low back pain (finding)")
NOTE_CATEGORY = cc(
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note"
)
Case = tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]


def note(
    slug: str,
    n: str,
    when: str,
    text: str | None,
    content_type: str = "text/plain",
    *,
    url: str | None = None,
    status: str = "current",
) -> Res:
    """A clinical note; ``text`` goes inline as base64 ``data``, or ``url`` points at a Binary."""
    attachment: Res = {"contentType": content_type}
    if text is not None:
        attachment["data"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if url is not None:
        attachment["url"] = url
    return {
        "resourceType": "DocumentReference",
        "id": f"{slug}-{n}",
        "status": status,
        "type": cc("http://loinc.org", "11506-3", "Progress note"),
        "category": [NOTE_CATEGORY],
        "subject": {"reference": f"Patient/{slug}-pat"},
        "date": when,
        "content": [{"attachment": attachment}],
    }


def bp(slug: str, onset_days: int, **kw: Any) -> Res:
    return condition(slug, "bp", LBP, day(onset_days), **kw)


SCREEN = (
    "Low back pain for 3 weeks after lifting.\n"
    "Red flags negative: no night pain, no weight loss, no saddle anaesthesia, no urinary retention.\n"
    "Denies numbness or weakness in the legs. No history of cancer."
)
SAFETY_NET = (
    "Mechanical low back pain, improving slowly.\n"
    "Safety-netted: return if weakness or retention develop, or numbness in the saddle area."
)
HTML_NOTE = (
    "<html><head><title>Review</title><style>p {color: red}</style></head><body>"
    "<h2>Back pain review</h2><p>Back pain for 5 weeks, <b>now worse at night</b> &amp; wakes her.</p>"
    "<ul><li>No saddle anaesthesia</li><li>Bladder and bowels normal</li></ul></body></html>"
)


def define() -> list[Case]:
    c: list[Case] = []

    def add(name: str, tier: str | None, story: str, res: list[Res]) -> None:
        c.append((name, name.split("--")[0], tier, story, res, None))

    s = "tx1"
    add(
        "F6--out--red-flag-screen-documented-as-negatives",
        None,
        "A clinical note documents the red-flag screen as negatives (no night pain, no weight loss, no saddle "
        "anaesthesia, no retention, no history of cancer): nothing counts, no card.",
        [
            patient(s, born_years_ago(44)),
            bp(s, 21, note="No night pain. No numbness."),
            note(s, "note", instant(1), SCREEN),
        ],
    )
    s = "tx2"
    add(
        "C1--out--safety-netting-sentence",
        None,
        "The note safety-nets weakness, retention and saddle numbness ('return if ... develop'): hypothetical, "
        "no card.",
        [patient(s, born_years_ago(39), "male"), bp(s, 10), note(s, "note", instant(0.5), SAFETY_NET)],
    )
    s = "tx3"
    add(
        "F6--in--night-pain-in-clinical-note",
        "C3",
        "Back pain for 5 weeks; a note 2 days ago says the pain now wakes him at night: C3, the evidence is "
        "the note and its date.",
        [
            patient(s, born_years_ago(52), "male"),
            bp(s, 35),
            note(s, "old", instant(30), "Back pain after gardening. No night pain."),
            note(s, "note", instant(2), "Review: the pain now wakes him at night. No leg symptoms."),
        ],
    )
    s = "tx4"
    add(
        "F6--in--html-clinical-note",
        "C3R",
        "An HTML note (markup, style and entities stripped by the HTML parser) says the pain is worse at night; "
        "its negated saddle anaesthesia does not count. One weak sign at 47 years and 35 days: C3R (item 27).",
        [patient(s, born_years_ago(47)), bp(s, 35), note(s, "note", instant(3), HTML_NOTE, "text/html; charset=utf-8")],
    )
    s = "tx5"
    add(
        "F6--in--pdf-note-not-evaluated",
        "C3",
        "Night pain recorded as a resting-state symptom; the only clinical note is a PDF, listed under Not "
        "evaluated; a note whose Binary was not obtained (no FHIR server) is listed too.",
        [
            patient(s, born_years_ago(58)),
            bp(s, 20),
            symptom(s, "rest", instant(2), LBP_SCT, at_rest=True),
            note(s, "pdf", instant(4), "%PDF-1.4 not text", "application/pdf"),
            note(s, "bin", instant(5), None, url="Binary/tx5-binary"),
        ],
    )
    s = "tx6"
    add(
        "C1--in--saddle-anaesthesia-in-clinical-note",
        "C1",
        "No coded deficit; today's note records new saddle anaesthesia and urinary retention: the emergency card, "
        "labelled as coming from the note.",
        [
            patient(s, born_years_ago(41), "male"),
            bp(s, 12),
            note(s, "note", instant(0.2), "Since yesterday new saddle anaesthesia and urinary retention."),
        ],
    )
    s = "tx7"
    add(
        "C2--in--history-of-malignant-neoplasm-of-prostate",
        "C2",
        "Cancer history coded only as SNOMED 428262008 'History of malignant neoplasm of prostate' and back pain "
        "since: recognised (by its code once the history value set has it, otherwise by the keyword fallback).",
        [
            patient(s, born_years_ago(71), "male"),
            bp(s, 25),
            condition(
                s, "hx", cc(SCT, "428262008", "History of malignant neoplasm of prostate (situation)"), day(900)
            ),
        ],
    )
    s = "tx8"
    add(
        "C2--in--prostate-cancer-as-local-text",
        "C2",
        "A Condition with a local code and the text 'Prostate cancer' is a cancer history (keyword fallback); a "
        "'Benign prostatic hyperplasia' text is not.",
        [
            patient(s, born_years_ago(69), "male"),
            bp(s, 25),
            condition(
                s, "ca", {"coding": [{"system": "urn:oid:1.2.3.4.5", "code": "PCA1"}], "text": "Prostate cancer"},
                day(400),
            ),
            condition(s, "bph", {"text": "Benign prostatic hyperplasia"}, day(600)),
        ],
    )
    s = "tx9"
    add(
        "C2--out--family-history-of-cancer-in-note",
        None,
        "The note says 'Mother had breast cancer' and 'father had night sweats': another person, neither a cancer "
        "history nor night pain, no card.",
        [
            patient(s, born_years_ago(45)),
            bp(s, 15),
            note(s, "note", instant(1), "Mother had breast cancer at 60. Father had night sweats with TB."),
        ],
    )
    return c
