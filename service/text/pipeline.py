"""One medspaCy pipeline per process: blank English tokenizer, rule sentencizer, target matcher, ConText.

Why this shape: ``medspacy.load`` defaults to PyRuSH, which costs ~5x the rule sentencizer per note and logs
every sentence; no statistical model is needed (and none can be downloaded), so the tokenizer is spaCy's
blank English one. Building the pipeline costs about a second, so it is built once per distinct content of
``cards/text`` and shared (knowledge reloads with config overrides reuse it).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
import time
import weakref
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

from service.text.build import Pipeline, build_pipeline

log = logging.getLogger(__name__)

SENTENCE_CHARS = 120
VOCAB_GROWTH = 20_000  # strings; each 10,000 is ~4 MiB of a worker's memory
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


class ClinicalText:
    """Reads one text into mentions; built from the validated contents of cards/text.

    The spaCy pipeline is renewed once its vocabulary has grown by ``VOCAB_GROWTH`` strings (service/text/build.py
    says why): a background thread builds a fresh one from the same contents and swaps it in. A read takes
    ``self._pipe`` once and uses only that object, so a swap never mixes two pipelines; the caches hold mentions
    keyed by digests of text, which do not depend on which (identically built) pipeline read them."""

    def __init__(self, targets: dict[str, Any], context: dict[str, Any]) -> None:
        self.source_labels: dict[str, str] = dict(targets["sourceLabels"])
        # Emergency phrases of the cord class (item 22: the emergency MRI then covers the whole spine).
        self.cord_phrases = frozenset(p.lower() for s in targets["signs"] for p in s.get("cordPhrases", ()))
        self.signs = {s["id"]: Sign(s["id"], s["label"], frozenset(s["voidedBy"])) for s in targets["signs"]}
        self._spec = (targets, context)
        self._pipe: Pipeline = build_pipeline(targets, context)
        self._renew_at = self._pipe.strings() + VOCAB_GROWTH
        self._renewing: threading.Thread | None = None
        self.renewals = 0
        self._labels: dict[str, tuple[Mention, ...]] = {}
        self._notes: OrderedDict[bytes, tuple[Mention, ...]] = OrderedDict()
        self._segments: OrderedDict[bytes, tuple[Mention, ...]] = OrderedDict()
        self._lock = threading.Lock()  # the cache may be shared by threads (one pipeline per process)

    def _check_growth(self, pipe: Pipeline) -> None:
        """Start renewing the pipeline in the background once its vocabulary has grown by ``VOCAB_GROWTH``."""
        if pipe.strings() < self._renew_at:
            return
        with self._lock:
            if self._renewing is not None or pipe is not self._pipe:
                return
            self._renewing = threading.Thread(target=self._renew, name="text-pipeline-renewal", daemon=True)
        self._renewing.start()

    def _renew(self) -> None:
        """Build a fresh pipeline, swap it in, and free the old one.

        The old pipeline sits in reference cycles; the service's GC tuning makes full collections rare, so it
        is collected here rather than left to grow with the next ones."""
        try:
            fresh = build_pipeline(*self._spec)
        except Exception:  # the same contents built once already; never let a renewal take the worker down
            log.exception("text pipeline renewal failed; the current pipeline stays")
            with self._lock:
                self._renew_at = self._pipe.strings() + VOCAB_GROWTH
                self._renewing = None
            return
        with self._lock:
            old, self._pipe = self._pipe, fresh
            self._renew_at = fresh.strings() + VOCAB_GROWTH
            self.renewals += 1
        grown, gone = old.strings(), weakref.ref(old.nlp)
        del old
        freed = release(gone)
        log.info("text pipeline renewed after %d strings (renewal %d, old one freed: %s)", grown, self.renewals, freed)
        with self._lock:
            self._renewing = None

    def wait_renewal(self, timeout: float | None = None) -> None:
        """Wait until a renewal under way has finished (tests, and shutdown if ever needed)."""
        thread = self._renewing
        if thread is not None:
            thread.join(timeout)

    def strings(self) -> int:
        """How many strings the current pipeline's vocabulary holds."""
        return self._pipe.strings()

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
        pipe = self._pipe
        found = self._read_segments(pipe, text)
        with self._lock:
            self._notes[key] = found
            while len(self._notes) > NOTE_CACHE:
                self._notes.popitem(last=False)
        self._check_growth(pipe)
        return found

    def read_uncached(self, text: str) -> tuple[Mention, ...]:
        """``read`` without any cache: only the segments that can hold a target go through the matcher and
        ConText (service/text/prefilter.py says why the result is the same as ``read_full``)."""
        if not text or not text.strip():
            return ()
        pipe = self._pipe
        if pipe.prefilter is None:
            found = self._read_full(pipe, text)
        else:
            reduced = pipe.prefilter.reduce(_split_doc(pipe, text))
            found = () if reduced is None else tuple(m for _, m in self._mentions_at(pipe, reduced))
        self._check_growth(pipe)
        return found

    def _read_segments(self, pipe: Pipeline, text: str) -> tuple[Mention, ...]:
        """``read_uncached`` with the mentions of each segment kept per process (bounded LRU keyed by a digest
        of the segment's tokens, whitespace, sentence starts and norms): a copied sentence is read once."""
        if pipe.prefilter is None:
            return self._read_full(pipe, text)
        doc = _split_doc(pipe, text)
        kept = pipe.prefilter.segments(doc)
        keys = [_segment_key(doc, a, b) for a, b in kept]
        with self._lock:
            results: list[tuple[Mention, ...] | None] = [self._segments.get(k) for k in keys]
            for k, r in zip(keys, results, strict=True):
                if r is not None:
                    self._segments.move_to_end(k)
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            ranges = [kept[i] for i in todo]
            sub = pipe.prefilter.rebuild(doc, ranges)
            if sub is None:
                return tuple(m for _, m in self._mentions_at(pipe, doc))  # cannot be rebuilt: read it whole
            offsets = list(accumulate((b - a for a, b in ranges), initial=0))[:-1]
            per: list[list[Mention]] = [[] for _ in ranges]
            for start, mention in self._mentions_at(pipe, sub):
                per[bisect_right(offsets, start) - 1].append(mention)
            with self._lock:
                for i, found in zip(todo, per, strict=True):
                    results[i] = self._segments[keys[i]] = tuple(found)
                while len(self._segments) > SEGMENT_CACHE:
                    self._segments.popitem(last=False)
        return tuple(m for r in results if r for m in r)

    def read_full(self, text: str) -> tuple[Mention, ...]:
        """The reference path: the whole text through the whole pipeline (what ``read`` must always equal)."""
        pipe = self._pipe
        found = self._read_full(pipe, text)
        self._check_growth(pipe)
        return found

    def _read_full(self, pipe: Pipeline, text: str) -> tuple[Mention, ...]:
        if not text or not text.strip():
            return ()
        return tuple(m for _, m in self._mentions_at(pipe, _split_doc(pipe, text)))

    def _mentions_at(self, pipe: Pipeline, doc: Any) -> list[tuple[int, Mention]]:
        """Target matcher and ConText on a sentence-split doc: each sign mention with its first token."""
        doc = pipe.matcher(doc)
        if not doc.ents:
            return []  # nothing to put in context: skip ConText, a third of the cost of a note
        doc = pipe.context(doc)
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


RELEASE_TRIES = 5
RELEASE_PAUSE = 0.05  # seconds: a read under way still holds the old pipeline; reads take milliseconds


def release(gone: weakref.ref[Any]) -> bool:
    """Collect the reference cycles of a swapped-out pipeline (``gone`` is its ``nlp``); whether it was freed.

    Why explicit: the service collects rarely and freezes its start-up objects, the first pipeline included
    (service/gc_tuning.py), and no collection looks at frozen objects. So the frozen objects are put back under
    the collector for one full collection and frozen again after it, which keeps the service's regime between
    renewals (anything frozen now is looked at again at the next renewal). Reads that took the old pipeline
    before the swap keep it alive until they end: hence the pause first, and a few tries."""
    frozen = gc.get_freeze_count() > 0
    if frozen:
        gc.unfreeze()
    try:
        for _ in range(RELEASE_TRIES):
            time.sleep(RELEASE_PAUSE)
            gc.collect()
            if gone() is None:
                return True
        return False
    finally:
        if frozen:
            gc.freeze()


def _split_doc(pipe: Pipeline, text: str) -> Any:
    doc = pipe.nlp.make_doc(text)
    for _, component in pipe.split:
        doc = component(doc)
    return doc


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
