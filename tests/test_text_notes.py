"""Which clinical notes are read and how their text is obtained (CLINICAL_RULES.md item 30)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from service.fhir import models as m
from service.text.documents import MAX_NOTES, binary_url, html_text, note_texts, select_notes, wanted_binaries

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


def doc(n: int | str, days_ago: float, *, status: str = "current", **attachment: Any) -> dict[str, Any]:
    when = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    att = attachment or {"contentType": "text/plain", "data": base64.b64encode(b"Pain at night.").decode()}
    return {"resourceType": "DocumentReference", "id": f"d{n}", "status": status, "date": when,
            "content": [{"attachment": att}]}


def typed(*raw: dict[str, Any]) -> list[m.DocumentReference]:
    return m.read_resources(list(raw), m.DocumentReference)[0]


def test_only_current_notes_of_the_last_90_days_and_not_after_t() -> None:
    docs = typed(doc(1, 1), doc(2, 89), doc(3, 91), doc(4, 2, status="superseded"), doc(5, -1),
                 doc(6, 3, status="entered-in-error"))
    assert [d.id for d in select_notes(docs, NOW)] == ["d1", "d2"]


def test_the_ten_most_recent_notes() -> None:
    docs = typed(*(doc(i, i) for i in range(1, 15)))
    assert [d.id for d in select_notes(docs, NOW)] == [f"d{i}" for i in range(1, MAX_NOTES + 1)]


def test_html_markup_scripts_and_entities_are_stripped_and_blocks_end_lines() -> None:
    markup = ("<div><script>var night = 'pain';</script><p>Back pain &amp; <b>night</b> pain</p>"
              "<ul><li>No retention</li></ul></div>")
    assert html_text(markup) == "Back pain & night pain\nNo retention"


def test_text_in_a_declared_charset_and_html_inline() -> None:
    latin = base64.b64encode("Anaesthésie en selle.".encode("latin-1")).decode()
    html = base64.b64encode(b"<p>Pain <i>at night</i></p>").decode()
    notes = note_texts(
        typed(doc(1, 1, contentType="text/plain; charset=ISO-8859-1", data=latin),
              doc(2, 2, contentType="text/html", data=html)),
        NOW,
        {},
    )
    assert [n.text for n in notes] == ["Anaesthésie en selle.", "Pain at night"]


def test_other_types_and_unread_binaries_are_reasons_not_texts() -> None:
    notes = note_texts(
        typed(doc(1, 1, contentType="application/pdf", data="JVBERi0="), doc(2, 2, contentType="text/plain",
                                                                           url="Binary/b2")),
        NOW,
        {},
    )
    assert [(n.ref, n.text, n.reason) for n in notes] == [
        ("DocumentReference/d1", None, "note-type:application/pdf"),
        ("DocumentReference/d2", None, "note-unreadable"),
    ]


def test_a_binary_read_for_a_url_gives_the_text() -> None:
    data = base64.b64encode(b"Wakes at night.").decode()
    binary = {"resourceType": "Binary", "contentType": "text/plain", "data": data}
    notes = note_texts(typed(doc(1, 1, contentType="text/plain", url="Binary/b1")), NOW, {"Binary/b1": binary})
    (note,) = notes
    assert note.text == "Wakes at night."


def test_only_binaries_on_the_fhir_server_are_fetched() -> None:
    base = "https://ehr.example.org/fhir"
    assert binary_url("Binary/abc", base) == "Binary/abc"
    assert binary_url(f"{base}/Binary/abc", base) == "Binary/abc"
    assert binary_url("https://elsewhere.example.org/fhir/Binary/abc", base) is None
    assert binary_url("Binary/abc/_history/1", base) is None
    assert binary_url("DocumentReference/abc", base) is None
    raw = [doc(1, 1, contentType="text/plain", url="Binary/b1"), doc(2, 1), doc(3, 1, contentType="image/png",
                                                                              url="Binary/b3")]
    assert wanted_binaries(raw, NOW, base) == {"Binary/b1": "Binary/b1"}
