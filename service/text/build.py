"""Building the spaCy/medspaCy pipeline of the text step (a blank English tokenizer, the rule sentencizer, line
breaks, the target matcher and ConText), apart from :class:`~service.text.pipeline.ClinicalText`.

Why apart: a blank spaCy pipeline keeps every string it has tokenised, for good (its StringStore and lexeme
table only grow). A long-running worker reading notes full of names, numbers and typos therefore grows
without bound, so ``ClinicalText`` builds a fresh :class:`Pipeline` from the same contents from time to time
and swaps it in; everything a read needs from spaCy is in this one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.errors import KnowledgeError
from service.text.imports import import_text_stack
from service.text.prefilter import Prefilter

IGNORED = "ignored"


@dataclass(frozen=True)
class Pipeline:
    """One built pipeline: a read takes this object once and uses only it, so a swap never mixes two."""

    nlp: Any
    split: list[tuple[str, Any]]  # sentencizer, line breaks
    matcher: Any
    context: Any
    prefilter: Prefilter | None

    def strings(self) -> int:
        """How many strings the pipeline's vocabulary holds (it grows with every new word read)."""
        return len(self.nlp.vocab.strings)


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


def build_pipeline(targets: dict[str, Any], context: dict[str, Any]) -> Pipeline:
    """The pipeline for the validated contents of cards/text (about half a second of CPU)."""
    # Imported here: spaCy costs seconds to import and only knowledge loading needs it; import_text_stack
    # leaves out the parts of spaCy and medspaCy the pipeline never uses (service/text/imports.py).
    import_text_stack()
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
    sign_rules = [r for r in rules if r.category != IGNORED]
    prefilter = Prefilter.build(nlp, sign_rules, [*rules, *modifier_rules])
    return Pipeline(nlp, list(nlp.pipeline[:2]), matcher, ctx, prefilter)
