"""One medspaCy pipeline per process: blank English tokenizer, rule sentencizer, target matcher, ConText.

Why this shape: ``medspacy.load`` defaults to PyRuSH, which costs ~5x the rule sentencizer per note and logs
every sentence; no statistical model is needed (and none can be downloaded), so the tokenizer is spaCy's
blank English one. Building the pipeline costs about a second, so it is built once per distinct content of
``cards/text`` and shared (knowledge reloads with config overrides reuse it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

from service.errors import KnowledgeError
from service.text.prefilter import Prefilter

log = logging.getLogger(__name__)

SENTENCE_CHARS = 120
IGNORED = "ignored"
LABEL_CACHE = 8192
NOTE_CACHE = 256
SEGMENT_CACHE = 8192


class Mention(NamedTuple):
    """One target phrase found in a text, with the ConText categories that modify it."""

    sign: str
    phrase: str
    sentence: str
    modifiers: tuple[str, ...]
    counted: bool


@dataclass(frozen=True)
class Sign:
    id: str
    label: str
    voided_by: frozenset[str]


MAX_VARIANTS = 256


def literal_variants(pattern: Sequence[dict[str, Any]] | None) -> list[str] | None:
    """The phrases a token pattern matches when every token is a plain LOWER word or word list (optionally
    ``OP: "?"``); None for any other pattern. Why: spaCy's PhraseMatcher looks phrases up by hash, while its
    token Matcher tests every set predicate on every token (most of ConText's cost on a 200-word note)."""
    if not pattern:
        return None
    variants = [""]
    for token in pattern:
        if set(token) - {"LOWER", "OP"} or token.get("OP", "?") != "?":
            return None
        lower = token["LOWER"]
        words = [lower] if isinstance(lower, str) else lower.get("IN") if set(lower) == {"IN"} else None
        if not words or not all(isinstance(w, str) and w and " " not in w for w in words):
            return None
        options = [*words, None] if token.get("OP") == "?" else list(words)
        variants = [f"{v} {w}".strip() if w else v for v in variants for w in options]
        if len(variants) > MAX_VARIANTS:
            return None
    return sorted({v for v in variants if v})


def expand_word_lists(pattern: Sequence[dict[str, Any]], lists: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``pattern`` with every ``{"IN": "@name"}`` (or an ``"@name"`` item of an IN list) replaced by the words of
    ``wordLists[name]`` in cards/text/targets.json. Raises KeyError for an unknown list."""
    out: list[dict[str, Any]] = []
    for token in pattern:
        spec = dict(token)
        for attr, value in token.items():
            if isinstance(value, dict) and "IN" in value:
                items = [value["IN"]] if isinstance(value["IN"], str) else value["IN"]
                words: list[str] = []
                for item in items:
                    words += lists[item[1:]] if isinstance(item, str) and item.startswith("@") else [item]
                spec[attr] = {**value, "IN": words}
        out.append(spec)
    return out


def _short(sentence: str, start: int, end: int) -> str:
    """The sentence in at most 120 characters, cut around the match [start, end) when it is longer."""
    text = " ".join(sentence.split())
    if len(text) <= SENTENCE_CHARS:
        return text
    squeezed = " ".join(sentence[:start].split())
    focus = len(squeezed) + (1 if squeezed and sentence[:start][-1:].isspace() else 0)
    width = SENTENCE_CHARS - 2
    begin = max(0, min(focus - width // 3, len(text) - width))
    piece = text[begin : begin + width].strip()
    return ("…" if begin > 0 else "") + piece + ("…" if begin + width < len(text) else "")


def _as_phrases(rule_type: Any, rule: Any) -> list[Any]:
    """``rule`` as literal rules when its pattern is only word lists, else ``rule`` itself (same meaning)."""
    variants = literal_variants(rule.pattern)
    if variants is None:
        return [rule]
    keep = {
        name: getattr(rule, name)
        for name in ("allowed_types", "excluded_types", "max_targets", "max_scope", "terminated_by")
        if getattr(rule, name, None)
    }
    return [rule_type(v, rule.category, direction=rule.direction, **keep) for v in variants]


class ClinicalText:
    """Reads one text into mentions; built from the validated contents of cards/text."""

    def __init__(self, targets: dict[str, Any], context: dict[str, Any]) -> None:
        # Imported here: spaCy costs seconds to import and only knowledge loading needs it. Its CLI module
        # imports a click helper deprecated in click 8.2; that warning is spaCy's, not ours.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import spacy
            from medspacy.context import ConTextRule
            from medspacy.target_matcher import TargetRule
            from spacy.language import Language

        if not Language.has_factory("backpain_line_breaks"):

            @Language.component("backpain_line_breaks")
            def line_breaks(doc: Any) -> Any:
                """A line break ends a sentence: notes are often lists without full stops."""
                for token in doc[1:]:
                    previous = doc[token.i - 1]
                    if "\n" in previous.text or "\n" in previous.whitespace_:
                        token.is_sent_start = True
                return doc

        self.source_labels: dict[str, str] = dict(targets["sourceLabels"])
        # Emergency phrases of the cord class (item 22: the emergency MRI then covers the whole spine).
        self.cord_phrases = frozenset(p.lower() for s in targets["signs"] for p in s.get("cordPhrases", ()))
        self.signs = {s["id"]: Sign(s["id"], s["label"], frozenset(s["voidedBy"])) for s in targets["signs"]}
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer", config={"punct_chars": list(context["sentenceBreaks"])})
        nlp.add_pipe("backpain_line_breaks")
        matcher: Any = nlp.add_pipe("medspacy_target_matcher")
        rules: list[Any] = []
        lists: dict[str, list[str]] = targets.get("wordLists", {})
        try:
            for sign in targets["signs"]:
                rules += [TargetRule(p, sign["id"]) for p in sign["phrases"]]
                rules += [
                    TargetRule(f"{sign['id']} pattern {i}", sign["id"], pattern=expand_word_lists(pattern, lists))
                    for i, pattern in enumerate(sign.get("patterns", ()))
                ]
            rules += [TargetRule(p, IGNORED) for p in targets["ignore"]]
            matcher.add(rules)
            ctx: Any = nlp.add_pipe("medspacy_context", config={"rules": None})
            replaced = set(context.get("replaceDefaults", ()))
            packaged = ConTextRule.from_json(ctx.DEFAULT_RULES_FILEPATH) if context["useDefaultRules"] else []
            ours = [
                ConTextRule(
                    r["literal"],
                    r["category"],
                    direction=r["direction"],
                    pattern=r.get("pattern"),
                    max_scope=r.get("maxScope"),
                )
                for r in context["rules"]
            ]
            kept = [r for r in packaged if r.literal not in replaced]
            modifier_rules = [phrase for r in [*kept, *ours] for phrase in _as_phrases(ConTextRule, r)]
            ctx.add(modifier_rules)
        except (ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError(f"cards/text: a target or ConText rule cannot be compiled: {exc}") from exc
        self._nlp = nlp
        self._split = nlp.pipeline[:2]  # sentencizer, line breaks
        self._matcher, self._context = matcher, ctx
        sign_rules = [r for r in rules if r.category != IGNORED]
        self._prefilter = Prefilter.build(nlp, sign_rules, [*rules, *modifier_rules])
        self._labels: dict[str, tuple[Mention, ...]] = {}
        self._notes: OrderedDict[bytes, tuple[Mention, ...]] = OrderedDict()
        self._segments: OrderedDict[bytes, tuple[Mention, ...]] = OrderedDict()
        self._lock = threading.Lock()  # the cache may be shared by threads (one pipeline per process)

    def read_label(self, text: str) -> tuple[Mention, ...]:
        """``read`` for terminology strings (code.text, displays), memoised: they repeat across patients."""
        found = self._labels.get(text)
        if found is None:
            found = self.read_uncached(text)
            if len(self._labels) < LABEL_CACHE and len(text) <= 200:
                self._labels[text] = found
        return found

    def read(self, text: str) -> tuple[Mention, ...]:
        """Every target mention in ``text`` (ignored phrases left out), counted or not.

        The result for an identical text is kept per process (bounded LRU keyed by a digest of the text, so the
        cache holds no note text): the same note is read again on every hook call of a chart."""
        if not text or not text.strip():
            return ()
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            found = self._notes.get(key)
            if found is not None:
                self._notes.move_to_end(key)
                return found
        found = self._read_segments(text)
        with self._lock:
            self._notes[key] = found
            while len(self._notes) > NOTE_CACHE:
                self._notes.popitem(last=False)
        return found

    def read_uncached(self, text: str) -> tuple[Mention, ...]:
        """``read`` without any cache: only the segments that can hold a target go through the matcher and
        ConText (service/text/prefilter.py says why the result is the same as ``read_full``)."""
        if not text or not text.strip():
            return ()
        if self._prefilter is None:
            return self.read_full(text)
        reduced = self._prefilter.reduce(self._split_doc(text))
        return () if reduced is None else tuple(m for _, m in self._mentions_at(reduced))

    def _read_segments(self, text: str) -> tuple[Mention, ...]:
        """``read_uncached`` with the mentions of each segment kept per process (bounded LRU keyed by a digest
        of the segment's tokens, whitespace, sentence starts and norms): a copied sentence is read once."""
        if self._prefilter is None:
            return self.read_full(text)
        doc = self._split_doc(text)
        kept = self._prefilter.segments(doc)
        keys = [_segment_key(doc, a, b) for a, b in kept]
        with self._lock:
            results: list[tuple[Mention, ...] | None] = [self._segments.get(k) for k in keys]
            for k, r in zip(keys, results, strict=True):
                if r is not None:
                    self._segments.move_to_end(k)
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            ranges = [kept[i] for i in todo]
            sub = self._prefilter.rebuild(doc, ranges)
            if sub is None:
                return tuple(m for _, m in self._mentions_at(doc))  # cannot be rebuilt: read it whole
            offsets = list(accumulate((b - a for a, b in ranges), initial=0))[:-1]
            per: list[list[Mention]] = [[] for _ in ranges]
            for start, mention in self._mentions_at(sub):
                per[bisect_right(offsets, start) - 1].append(mention)
            with self._lock:
                for i, found in zip(todo, per, strict=True):
                    results[i] = self._segments[keys[i]] = tuple(found)
                while len(self._segments) > SEGMENT_CACHE:
                    self._segments.popitem(last=False)
        return tuple(m for r in results if r for m in r)

    def _split_doc(self, text: str) -> Any:
        doc = self._nlp.make_doc(text)
        for _, component in self._split:
            doc = component(doc)
        return doc

    def read_full(self, text: str) -> tuple[Mention, ...]:
        """The reference path: the whole text through the whole pipeline (what ``read`` must always equal)."""
        if not text or not text.strip():
            return ()
        return tuple(m for _, m in self._mentions_at(self._split_doc(text)))

    def _mentions_at(self, doc: Any) -> list[tuple[int, Mention]]:
        """Target matcher and ConText on a sentence-split doc: each sign mention with its first token."""
        doc = self._matcher(doc)
        if not doc.ents:
            return []  # nothing to put in context: skip ConText, a third of the cost of a note
        doc = self._context(doc)
        out: list[tuple[int, Mention]] = []
        for ent in doc.ents:
            sign = self.signs.get(ent.label_)
            if sign is None:
                continue
            categories = tuple(sorted({m.category for m in ent._.modifiers}))
            sent = ent.sent
            sentence = _short(sent.text, ent.start_char - sent.start_char, ent.end_char - sent.start_char)
            mention = Mention(sign.id, ent.text, sentence, categories, not (sign.voided_by & set(categories)))
            out.append((ent.start, mention))
        return out


def _segment_key(doc: Any, start: int, end: int) -> bytes:
    """What a segment's mentions depend on: its tokens' texts, whitespace, sentence starts and norms (not the
    whitespace after its last token, which is in no sentence's text)."""
    parts = [
        f"{t.text}\x01{t.whitespace_ if t.i < end - 1 else ''}\x01{int(bool(t.is_sent_start))}\x01{t.norm_}"
        for t in doc[start:end]
    ]
    return hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


_BUILT: dict[str, ClinicalText] = {}


def load_clinical_text(targets: dict[str, Any], context: dict[str, Any]) -> ClinicalText:
    """The pipeline for these contents, built at most once per process (about a second to build)."""
    key = _digest(targets, context)
    built = _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = ClinicalText(targets, context)
    return built
