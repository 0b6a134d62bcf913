"""The markdown "needs escaping?" fast test agrees with the single regex it replaced (kept as the reference).

``escape_markdown`` returns a value unchanged when ``needs_work`` says no step of ``_escape`` would change it;
a disagreement would let a character through unescaped (or only cost time), so it is checked exhaustively:
every code point alone and inside a value, every short string of the characters the tests look at, and
hypothesis' text.
"""

from __future__ import annotations

import itertools
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from service.markdown import _NEEDS_WORK, _escape, escape_markdown, needs_work

# The characters the branches of _NEEDS_WORK look at, plus plain ones around them.
TRICKY = "\\`*_[]<&|~$@.:/ #+-=>1)a\t\n\u00a0\u200b\u202a\u0661"


def reference(text: str) -> bool:
    return _NEEDS_WORK.search(text) is not None


def test_every_code_point_alone_and_inside_a_value() -> None:
    wrong = []
    for point in range(sys.maxunicode + 1):
        c = chr(point)
        for text in (c, f"ab{c}cd", f"{c}ab", f"ab{c}"):
            if needs_work(text) != reference(text):
                wrong.append((hex(point), text))
    assert not wrong[:20]


def test_every_short_string_of_the_tricky_characters() -> None:
    for size in range(5):
        for chars in itertools.product(TRICKY, repeat=size):
            text = "".join(chars)
            assert needs_work(text) == reference(text), repr(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40) | st.text(alphabet=TRICKY, max_size=12))
def test_agrees_with_the_reference(text: str) -> None:
    assert needs_work(text) == reference(text)
    assert escape_markdown(text) == _escape(text, None)


def test_a_value_it_passes_is_what_the_steps_return() -> None:
    for text in ("M54.50", "Condition/abc-123", "low back pain", "2 weeks"):
        assert not needs_work(text)
        assert escape_markdown(text) == _escape(text, None) == text
    for text in ("<img>", "a.example", "https://x", "# h", "1. x", "a  b", "x ", "\u200fx"):
        assert needs_work(text)
