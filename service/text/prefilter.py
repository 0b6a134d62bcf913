"""Which sentences of a note can hold a target: only those go through the target matcher and ConText.

Why the result is the same as reading the whole note (``ClinicalText.read_full``; tests/test_text_fast_path.py
compares both over every labelled sentence, the fixture notes and the benchmark notes):

- ConText is local to a sentence: its modifiers' scope is the sentence (``maxScope`` only shortens it, because
  the pipeline sets no window), and termination by another modifier only cuts the part of a scope beyond it.
- A match (target or modifier) can only cross from one sentence into the next through the last token of the
  first one, and only if some rule has a token before its last one that accepts that token. Where no rule can,
  the boundary is *hard*: the text splits there into independent segments. Usually a full stop ends the
  sentence and no rule continues after a full stop, so segments are sentences.
- A segment's mentions therefore depend only on the segment (its tokens, whitespace, sentence starts, norms):
  ``ClinicalText.read`` keeps them per segment too, so a sentence copied into many notes is read once.
- A segment can hold a mention only if, for one sign rule, every token the rule requires (not optional)
  accepts some token of the segment. Segments where no sign rule can match are dropped; the others are kept
  whole, with their tokens, whitespace and sentence starts, and read as one doc.

Token tests are decided from the token's own string (LOWER, TEXT, IS_PUNCT, LIKE_NUM, ...), which a rebuilt
doc keeps; a rule using any other attribute switches the prefilter off (``build`` returns None), and so does a
string (regular-expression) pattern. An attribute this module does not know is taken to accept every token,
which can only keep more text, never less.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

LEXICAL = {"LOWER", "TEXT", "ORTH", "IS_PUNCT", "LIKE_NUM", "IS_SPACE", "IS_DIGIT", "IS_ALPHA", "OP"}
Test = Callable[[Any], bool]
MEMO = 65536
Possible = tuple[list[list["Spec"]], dict[str, list[list["Spec"]]]]


def _value_test(value: Any) -> Callable[[Any], bool]:
    """A test of one attribute value: equality, or the IN / NOT_IN / REGEX operators of a spaCy pattern."""
    if not isinstance(value, dict):
        return lambda v: bool(v == value)
    words_in = frozenset(value["IN"]) if "IN" in value else None
    words_out = frozenset(value["NOT_IN"]) if "NOT_IN" in value else None
    rx = re.compile(value["REGEX"]) if "REGEX" in value else None

    def test(v: Any) -> bool:  # any other operator accepts (keeps more text, never less)
        if words_in is not None and v not in words_in:
            return False
        if words_out is not None and v in words_out:
            return False
        return rx is None or (isinstance(v, str) and rx.search(v) is not None)

    return test


_GETTERS: dict[str, Callable[[Any], Any]] = {
    "LOWER": lambda t: t.lower_,
    "TEXT": lambda t: t.text,
    "ORTH": lambda t: t.text,
    "IS_PUNCT": lambda t: t.is_punct,
    "LIKE_NUM": lambda t: t.like_num,
    "IS_SPACE": lambda t: t.is_space,
    "IS_DIGIT": lambda t: t.is_digit,
    "IS_ALPHA": lambda t: t.is_alpha,
}


@dataclass(frozen=True)
class Spec:
    """One token of a rule: a test on a token, and the words it needs when it tests LOWER only (for indexing)."""

    test: Test
    words: frozenset[str] | None
    required: bool


def _spec(token: dict[str, Any]) -> Spec:
    parts = [(_GETTERS[k], _value_test(v)) for k, v in token.items() if k != "OP"]
    op = token.get("OP")
    required = op is None or op in ("+", "!") or bool(re.fullmatch(r"\{[1-9][0-9]*(,[0-9]*)?\}", str(op)))
    required = required and op != "!"
    lower = token.get("LOWER")
    words: frozenset[str] | None = None
    if set(token) - {"OP"} == {"LOWER"}:
        if isinstance(lower, str):
            words = frozenset([lower])
        elif isinstance(lower, dict) and set(lower) == {"IN"}:
            words = frozenset(lower["IN"])
    checks = tuple(parts)

    def test(token: Any) -> bool:
        return all(check(get(token)) for get, check in checks)

    return Spec(test, words, required)


def _token_specs(nlp: Any, rule: Any) -> list[dict[str, Any]] | None:
    """The token patterns of a medspaCy rule (a literal as its tokens' LOWER); None for a string pattern."""
    if rule.pattern is None:
        return [{"LOWER": t.lower_} for t in nlp.make_doc(rule.literal)]
    if isinstance(rule.pattern, str):
        return None
    return [dict(t) for t in rule.pattern]


class Prefilter:
    def __init__(self, vocab: Any, sign_rules: list[list[Spec]], continuing: list[Spec]) -> None:
        self._vocab = vocab
        self._continuing = continuing
        self._anchored: dict[str, list[list[Spec]]] = {}
        self._unanchored: list[list[Spec]] = []
        for specs in sign_rules:
            # the anchor: a required token with a word list, the one whose shortest word is longest (short
            # words such as "at", "no" are in most sentences)
            anchors = [s for s in specs if s.required and s.words]
            anchor = max(anchors, key=lambda s: min(len(w) for w in s.words or ()), default=None)
            if anchor is None:
                self._unanchored.append(specs)
            else:
                for word in anchor.words or ():
                    self._anchored.setdefault(word, []).append(specs)
        self._memo: dict[int, dict[str, bool]] = {}
        self._crossable = lru_cache(maxsize=4096)(self._crossable_uncached)

    @classmethod
    def build(cls, nlp: Any, sign_rules: Iterable[Any], all_rules: Iterable[Any]) -> Prefilter | None:
        """The prefilter for these target rules (``sign_rules``) and every rule that matches tokens (targets,
        ignored phrases, ConText modifiers); None when a rule uses what the prefilter cannot judge."""
        signs: list[list[Spec]] = []
        continuing: list[Spec] = []
        for rule in all_rules:
            tokens = _token_specs(nlp, rule)
            if tokens is None or any(set(t) - LEXICAL for t in tokens):
                return None
            continuing += [_spec(t) for t in tokens[:-1]]
        for rule in sign_rules:
            tokens = _token_specs(nlp, rule)
            assert tokens is not None
            signs.append([_spec(t) for t in tokens])
        return cls(nlp.vocab, signs, continuing)

    def _crossable_uncached(self, text: str) -> bool:
        """Whether a match can go on after a token with this text (a rule token before its last accepts it)."""
        lexeme = self._vocab[text]
        return any(s.test(lexeme) for s in self._continuing)

    def _accepts(self, spec: Spec, texts: set[str]) -> bool:
        """Whether ``spec`` accepts a token with one of these texts (memoised per spec and text)."""
        memo = self._memo.setdefault(id(spec), {})
        for text in texts:
            hit = memo.get(text)
            if hit is None:
                if len(memo) >= MEMO:
                    memo.clear()
                hit = memo[text] = spec.test(self._vocab[text])
            if hit:
                return True
        return False

    def _satisfied(self, specs: list[Spec], texts: set[str], lowers: set[str]) -> bool:
        """Whether every token ``specs`` requires accepts some token (given by text and lower) of a span."""
        return all(
            (not s.required)
            or (s.words is not None and not s.words.isdisjoint(lowers))
            or (s.words is None and self._accepts(s, texts))
            for s in specs
        )

    def _holds(self, possible: Possible, texts: list[str], lowers: list[str]) -> bool:
        """Whether one of the ``possible`` rules can match within a segment (its token texts and lowers)."""
        unanchored, anchored = possible
        lower_set = set(lowers)
        candidates = [*unanchored, *(r for w in lower_set for r in anchored.get(w, ()))]
        if not candidates:
            return False
        text_set = set(texts)
        return any(self._satisfied(specs, text_set, lower_set) for specs in candidates)

    def segments(self, doc: Any) -> list[tuple[int, int]]:
        """The token ranges [start, end) of ``doc`` (sentence-split) that can hold a sign, in order."""
        texts = [t.text for t in doc]
        lowers = [text.lower() for text in texts]
        every_lower = set(lowers)
        every_text = set(texts)
        unanchored = [r for r in self._unanchored if self._satisfied(r, every_text, every_lower)]
        anchored: dict[str, list[list[Spec]]] = {}
        for word in every_lower:
            rules = [r for r in self._anchored.get(word, ()) if self._satisfied(r, every_text, every_lower)]
            if rules:
                anchored[word] = rules
        if not unanchored and not anchored:
            return []
        possible = (unanchored, anchored)
        bounds = [0]
        for sent in doc.sents:
            if sent.start > bounds[-1] and not self._crossable(texts[sent.start - 1]):
                bounds.append(sent.start)
        bounds.append(len(doc))
        if len(bounds) == 2:
            return [(0, len(doc))]
        return [(a, b) for a, b in pairwise(bounds) if self._holds(possible, texts[a:b], lowers[a:b])]

    @staticmethod
    def rebuild(doc: Any, kept: list[tuple[int, int]]) -> Any | None:
        """A new doc of the ``kept`` segments (their tokens, whitespace, sentence starts and norms, in order);
        ``doc`` itself when that is all of it; None when it cannot be rebuilt exactly."""
        if kept == [(0, len(doc))]:
            return doc
        from spacy.tokens import Doc

        tokens = [doc[i] for a, b in kept for i in range(a, b)]
        if any(t.whitespace_ not in ("", " ") for t in tokens):
            return None
        reduced = Doc(
            doc.vocab,
            words=[t.text for t in tokens],
            spaces=[bool(t.whitespace_) for t in tokens],
            sent_starts=[bool(t.is_sent_start) for t in tokens],
        )
        for new, old in zip(reduced, tokens, strict=True):
            if new.norm != old.norm:  # a tokenizer exception's norm ("n't" -> "not"): keep it
                new.norm_ = old.norm_
        return reduced

    def reduce(self, doc: Any) -> Any | None:
        """``doc`` (sentence-split) with only the segments that can hold a sign; None when none can."""
        kept = self.segments(doc)
        if not kept:
            return None
        reduced = self.rebuild(doc, kept)
        return doc if reduced is None else reduced  # not rebuildable: read it whole
