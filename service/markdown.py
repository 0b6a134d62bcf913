r"""The one escaping function for text from FHIR data that goes into a card (detail, summary, labels).

CDS Hooks ``detail`` is GitHub-flavoured Markdown and EHRs render it, some with raw HTML allowed and with
bare URLs turned into links. A Condition display such as ``<img src=x onerror=...>`` or ``[x](https://…)``
must therefore reach the clinician as the characters it is, never as a tag, an image or a link.

How: every character that can open inline Markdown, HTML, an entity or code is backslash-escaped
(CommonMark allows a backslash before any ASCII punctuation, and renders it as the bare character).
So are ``@``, the dot of a domain (``evil\.example``) and the colon of a scheme (``https\://``), which
splits ``https://host.tld``, ``www.host.tld`` and ``a@b.tld`` into pieces that GFM's and linkify's
extended autolinks no longer recognise; numbers such as ``M54.50`` or ``80.0 kg`` stay as written. Line breaks
and other control characters become spaces (so no value can start a heading, list, quote or table
row), and a leading block marker (``#``, ``-``, ``+``, ``=``, ``>``, ``1.``, ``1)``) is escaped in case a template puts
the value at the start of a line. Bidirectional-override characters are dropped: they can make a
display read differently from what it is.
"""

from __future__ import annotations

import re

# Characters that open inline Markdown, HTML, entities or code anywhere in a line ($ for renderers with math).
_INLINE = re.compile(r"([\\`*_\[\]<&|~$@])")
# Autolink pieces: the dot of a domain (before a letter) and the colon of a scheme (before a slash).
_DOMAIN_DOT = re.compile(r"\.(?=[^\W\d_])")
_SCHEME_COLON = re.compile(r":(?=/)")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Block markers that count only at the start of a line: heading, list, quote, setext underline, numbered list.
_LEADING_MARKER = re.compile(r"^[#+\-=>]")
_LEADING_NUMBERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


# Anything the steps of ``_escape`` would change: a character they escape, drop or turn into a space, a
# domain dot or scheme colon, two spaces in a row; or, at the ends, a space or a block marker (``#``, ``1.``).
_NEEDS_WORK = re.compile(
    r"[\\`*_\[\]<&|~$@\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
    r"|\.(?=[^\W\d_])|:(?=/)|[^\S ]|  |^[#+\-=> ]|^\d+[.)]| $"
)


# The same test as ``_NEEDS_WORK`` (kept as the reference, tests/test_markdown_check.py checks they agree), as
# one character class plus substring tests: the alternation tries seven branches at every position (~1.5 µs
# a value), this one scan of a class and a few ``in`` tests (~0.4 µs). The class lists the characters the
# steps escape, drop or turn into a space, and every white space but the space itself (``[^\S ]``).
_CHARACTERS = re.compile(
    r"[\\`*_\[\]<&|~$@\x00-\x1f\x7f-\x9f\xa0\u1680\u2000-\u200a\u200e\u200f\u2028-\u202f\u205f\u2066-\u2069"
    r"\u061c\u3000]"
)
_LEADING = frozenset("#+-=> ")
_NUMBERED_START = re.compile(r"\d+[.)]")


def needs_work(text: str) -> bool:
    """Whether any step of ``_escape`` would change ``text`` (``_NEEDS_WORK.search``, without the regex)."""
    if _CHARACTERS.search(text) is not None:
        return True
    if "  " in text or ":/" in text or ("." in text and _DOMAIN_DOT.search(text) is not None):
        return True
    if not text:
        return False
    first = text[0]
    return first in _LEADING or text[-1] == " " or (first.isdecimal() and _NUMBERED_START.match(text) is not None)


def escape_markdown(value: object, limit: int | None = None) -> str:
    """``value`` as literal text inside Markdown; cut to ``limit`` characters (before escaping) if given."""
    text = str(value)
    if (limit is None or len(text) <= limit) and not needs_work(text):
        return text  # most values (codes, resource ids, plain words): one scan instead of seven
    return _escape(text, limit)


def _escape(value: str, limit: int | None) -> str:
    """Every step, whatever the value (``escape_markdown`` skips them when none would change it)."""
    text = _SPACE.sub(" ", _BIDI.sub("", str(value))).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    text = _INLINE.sub(r"\\\1", text)
    text = _SCHEME_COLON.sub(r"\\:", _DOMAIN_DOT.sub(r"\\.", text))
    text = _LEADING_MARKER.sub(lambda m: "\\" + m.group(0), text)
    return _LEADING_NUMBERED.sub(r"\1\\\2", text)
