"""Clinical notes (DocumentReference, US Core category clinical-note): which ones are read, and their text.

CLINICAL_RULES.md item 30: current notes dated no more than 90 days before T, the 10 most recent; the text
comes from ``content.attachment`` (``data`` inline, or ``url`` read from fhirServer as a Binary); text/plain
and text/html are read, HTML through the standard library's parser; anything else is "not evaluated". The
episode window is the rules' business: this module only narrows what is worth fetching and reading.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from service.fhir import models as m
from service.fhir.dates import When

NOTE_WINDOW_DAYS = 90
MAX_NOTES = 10
MAX_NOTE_CHARS = 20_000
READABLE = frozenset({"text/plain", "text/html"})
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6", "section",
     "article", "header", "footer", "blockquote", "pre", "hr", "dt", "dd"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})


class NoteText(NamedTuple):
    """A note's readable text, or why it could not be read (``reason``, for the card's Not evaluated)."""

    ref: str
    date: When | None
    text: str | None
    reason: str | None


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; block elements end a line (the sentence splitter uses them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def media_type(content_type: str | None) -> tuple[str, str]:
    """(type/subtype lower-cased, charset) of a MIME content type; charset defaults to utf-8."""
    if not content_type:
        return "", "utf-8"
    main, *params = content_type.split(";")
    charset = "utf-8"
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return main.strip().lower(), charset


def decode(data: str, content_type: str | None) -> str | None:
    """The text of base64 ``data`` of a readable type; None when it is not base64."""
    kind, charset = media_type(content_type)
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode(charset, errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    text = html_text(text) if kind == "text/html" else text
    return text[:MAX_NOTE_CHARS]


def note_date(doc: m.DocumentReference) -> When | None:
    return doc.date or (doc.context.period.start if doc.context and doc.context.period else None)


def select_notes(docs: Iterable[m.DocumentReference], now: datetime) -> list[m.DocumentReference]:
    """Current notes dated within 90 days before T (not after it), the 10 most recent."""
    earliest = now - timedelta(days=NOTE_WINDOW_DAYS)
    dated = [
        (when, doc)
        for doc in docs
        if doc.status == "current" and doc.docStatus != "entered-in-error"
        if (when := note_date(doc)) is not None and earliest.date() <= when.day and when.at <= now
    ]
    dated.sort(key=lambda pair: (pair[0].at, pair[1].id), reverse=True)
    return [doc for _, doc in dated[:MAX_NOTES]]


def binary_url(url: str | None, base_url: str | None) -> str | None:
    """``Binary/<id>`` relative to fhirServer for an attachment url on that server; None otherwise."""
    if not url:
        return None
    if base_url and url.startswith(base_url.rstrip("/") + "/"):
        url = url[len(base_url.rstrip("/")) + 1 :]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.query:
        return None
    segments = parts.path.strip("/").split("/")
    return f"Binary/{segments[1]}" if len(segments) == 2 and segments[0] == "Binary" and segments[1] else None


def wanted_binaries(docs: Iterable[Mapping[str, Any]], now: datetime, base_url: str | None) -> dict[str, str]:
    """attachment url -> ``Binary/<id>`` for the selected notes that carry readable text only by url."""
    typed, _ = m.read_resources(docs, m.DocumentReference)
    out: dict[str, str] = {}
    for doc in select_notes(typed, now):
        attachments = [c.attachment for c in doc.content if c.attachment is not None]
        readable = [a for a in attachments if media_type(a.contentType)[0] in READABLE]
        if any(a.data for a in readable):
            continue
        for a in readable:
            target = binary_url(a.url, base_url)
            if a.url and target:
                out[a.url] = target
                break
    return out


def note_texts(
    docs: Iterable[m.DocumentReference], now: datetime, binaries: Mapping[str, Mapping[str, Any]]
) -> list[NoteText]:
    """The text of each selected note, or the reason it is listed as not evaluated."""
    out: list[NoteText] = []
    for doc in select_notes(docs, now):
        ref, when = f"DocumentReference/{doc.id}", note_date(doc)
        attachments = [c.attachment for c in doc.content if c.attachment is not None]
        readable = [a for a in attachments if media_type(a.contentType)[0] in READABLE]
        text: str | None = None
        for a in readable:
            if a.data:
                text = decode(a.data, a.contentType)
            elif a.url and a.url in binaries:
                binary = binaries[a.url]
                data = binary.get("data")
                kind = binary.get("contentType") if isinstance(binary.get("contentType"), str) else a.contentType
                text = decode(data, kind or a.contentType) if isinstance(data, str) else None
            if text is not None:
                break
        if text is not None:
            out.append(NoteText(ref, when, text, None))
        elif readable:
            out.append(NoteText(ref, when, None, "note-unreadable"))
        else:
            kinds = sorted({media_type(a.contentType)[0] or "no content type" for a in attachments})
            out.append(NoteText(ref, when, None, "note-type:" + (", ".join(kinds) or "no attachment")))
    return out
