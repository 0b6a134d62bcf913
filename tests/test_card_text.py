"""The card as an EHR renders it: FHIR text never becomes markup, the card is short, labels match the orders.

The renderer is markdown-it-py in its GFM-like preset with raw HTML allowed and linkify on, the most
permissive way an EHR might show ``detail`` (CDS_HOOKS.md H5: detail is GitHub-flavoured Markdown).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from service.assessment import assess
from service.cdshooks.models import Card
from service.engine import evaluate
from service.facts import build_facts
from service.fixtures_catalog import Case, list_cases, record_from_resources
from service.markdown import escape_markdown
from service.render import flag_count
from tests.support.engine import knowledge, knowledge_for, run_case

EHR_MARKDOWN = MarkdownIt("gfm-like", {"html": True, "linkify": True})
CASES = list_cases()
CARD_CASES = [c for c in CASES if c.tier]
BY_NAME = {c.name: c for c in CASES}
DETAIL_BUDGET = 900
# What our own templates produce: paragraphs, one list level, bold. Anything else came from data.
TEMPLATE_TAGS = {"p", "ul", "li", "strong"}
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[x](https://evil.example)",
    "![i](https://evil.example/i.png)",
    "<https://evil.example/auto>",
    "see https://evil.example/bare and www.evil.example and evil.com or mail a@evil.example",
    "`code` ``more``",
    "a | b | c\n|---|---|---|",
    "<script>alert(1)</script>",
    "&lt;b&gt;entity&lt;/b&gt; &amp;",
    "**bold** _em_ ~~struck~~ $x$",
    "# heading\n- item\n> quote\n1. first",
    "javascript:alert(1)",
    "<a href='https://evil.example'>click</a>",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def rendered_tags(markdown: str, inline: bool = False) -> _Tags:
    return parse(EHR_MARKDOWN.renderInline(markdown) if inline else EHR_MARKDOWN.render(markdown))


def card_of(case: Case, resources: list[dict[str, Any]]) -> Card:
    k = knowledge_for(case)
    record = record_from_resources(case.patient_id, resources, k.service)
    [card] = evaluate(record, k, case.as_of, case.hook_instance).cards
    return card


def with_text(case: Case, text: str) -> list[dict[str, Any]]:
    """The case's resources with ``text`` as every Condition's coding display and code text."""
    resources = copy.deepcopy(case.resources())
    for resource in resources:
        if resource["resourceType"] == "Condition":
            code = resource.setdefault("code", {})
            code["text"] = text
            for coding in code.get("coding") or []:
                coding["display"] = text
    return resources


def assert_no_markup_from_data(markdown: str) -> None:
    tags = rendered_tags(markdown)
    assert set(tags.tags) <= TEMPLATE_TAGS, (set(tags.tags) - TEMPLATE_TAGS, markdown)
    assert tags.attrs == [], markdown


# --- the escaping function ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_escaped_hostile_text_renders_as_its_own_characters_and_nothing_else(hostile: str) -> None:
    html = EHR_MARKDOWN.render("- Evidence: " + escape_markdown(hostile))
    parsed = parse(html)
    assert parsed.tags == ["ul", "li"] and parsed.attrs == []
    assert "".join(parsed.text).strip() == "Evidence: " + " ".join(hostile.split())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_any_text_escaped_stays_one_plain_paragraph(text: str) -> None:
    parsed = rendered_tags("Found: " + escape_markdown(text))
    assert parsed.tags == ["p"] and parsed.attrs == []


def test_escaping_keeps_codes_and_numbers_readable() -> None:
    assert escape_markdown("Low back pain, unspecified (M54.50), 80.0 kg >= 5 %") == (
        "Low back pain, unspecified (M54.50), 80.0 kg >= 5 %"
    )
    assert escape_markdown("x" * 200, limit=10) == "xxxxxxxxx…"


# --- every fixture card and the hostile chart ---------------------------------------------------------------


@pytest.mark.parametrize("case", CARD_CASES, ids=[c.name for c in CARD_CASES])
def test_every_fixture_card_renders_only_template_markup(case: Case) -> None:
    _, response = run_case(case)
    [card] = response["cards"]
    assert_no_markup_from_data(card["detail"])
    assert rendered_tags(card["summary"], inline=True).tags == []
    for suggestion in card.get("suggestions", []):
        assert rendered_tags(suggestion["label"], inline=True).tags == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_condition_display_gives_no_tag_image_or_link(hostile: str) -> None:
    """Every Condition of the C1 case carries the hostile text (deficit, cancer, back pain)."""
    case = BY_NAME["C1--in--leg-weakness-with-breast-cancer"]
    benign = card_of(case, with_text(case, "Benign display"))
    card = card_of(case, with_text(case, hostile))
    assert card.indicator == "critical"
    assert_no_markup_from_data(card.detail or "")
    assert rendered_tags(card.detail or "").tags == rendered_tags(benign.detail or "").tags
    text = "".join(rendered_tags(card.detail or "").text)
    assert " ".join(hostile.split()) in text
    for field in [card.summary, *(s.label for s in card.suggestions)]:
        assert rendered_tags(field, inline=True).tags == []
        assert hostile not in field


# --- a card read in seconds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CARD_CASES, ids=[c.name for c in CARD_CASES])
def test_detail_within_budget_unless_more_than_four_flags(case: Case) -> None:
    k = knowledge_for(case)
    result, _ = run_case(case)
    facts = build_facts(
        case.record(k.service),
        {key: s.resource_type for key, s in k.service.prefetch.items()},
        case.as_of,
        k.relevance.keep,
    )
    flags = flag_count(assess(facts, k, case.as_of), k)
    detail = result.cards[0].detail or ""
    if flags <= 4:
        assert len(detail) <= DETAIL_BUDGET, (len(detail), detail)


def test_actions_come_first_and_codes_only_in_the_trailing_sources() -> None:
    for case in CARD_CASES:
        detail = run_case(case)[0].cards[0].detail or ""
        blocks = detail.split("\n\n")
        assert blocks[0].startswith("- "), case.name
        assert blocks[-1].startswith("Sources: "), case.name
        body = "\n\n".join(blocks[:-1])
        for system in ("SNOMED", "ICD-10-CM", "LOINC", "RxNorm", "Condition/", "Patient/"):
            assert system not in body, (case.name, system)


_PHRASE = re.compile(r"within (?:(\d+) (hour|hours|day|days|week|weeks)|1 (hour|week))$")
_UNIT_HOURS = {"hour": 1, "hours": 1, "day": 24, "days": 24, "week": 168, "weeks": 168}


def label_hours(label: str) -> int:
    match = _PHRASE.search(label)
    assert match, label
    if match.group(3):
        return _UNIT_HOURS[match.group(3)]
    return int(match.group(1)) * _UNIT_HOURS[match.group(2)]


@pytest.mark.parametrize("case", CARD_CASES, ids=[c.name for c in CARD_CASES])
def test_every_suggestion_label_says_the_deadline_of_its_order(case: Case) -> None:
    card = run_case(case)[0].cards[0]
    for suggestion in card.suggestions:
        for action in suggestion.actions:  # the blood tests are one suggestion with one order per test
            end = str((action.resource or {})["occurrencePeriod"]["end"])
            due = datetime.fromisoformat(end.replace("Z", "+00:00"))
            assert due - case.as_of == timedelta(hours=label_hours(suggestion.label)), suggestion.label
        assert "(by " not in suggestion.label


def test_same_day_emergency_referral_is_due_the_same_day() -> None:
    card = run_case(BY_NAME["C1--in--leg-weakness-with-breast-cancer"])[0].cards[0]
    [referral] = [s for s in card.suggestions if "same-day" in s.label]
    end = str((referral.actions[0].resource or {})["occurrencePeriod"]["end"])
    assert end.startswith(BY_NAME["C1--in--leg-weakness-with-breast-cancer"].as_of.date().isoformat())


def test_not_evaluated_lists_only_signs_that_would_change_the_tier() -> None:
    c1 = run_case(BY_NAME["C1--in--leg-weakness-with-breast-cancer"])[0].cards[0].detail or ""
    c4 = run_case(BY_NAME["C4--in--chronic-pain-predates-cancer"])[0].cards[0].detail or ""
    assert "Not evaluated" not in c1  # C1 is the top tier: no missing weight could change it
    assert "**Not evaluated:**" in c4 and "no body weight recorded" in c4  # weight loss would make it C2


def test_c4_does_not_call_listed_findings_flags() -> None:
    c4 = run_case(BY_NAME["C4--in--chronic-pain-predates-cancer"])[0].cards[0].detail or ""
    assert "Flags found" not in c4 and "no other red flag" not in c4


def test_c2_and_c3_differ_at_a_glance() -> None:
    k = knowledge()
    c2, c3 = k.cards.tiers["C2"], k.cards.tiers["C3"]
    assert c2.summary.split(":")[0] != c3.summary.split(":")[0]
    assert c2.actions[0].text.split(":")[0] != c3.actions[0].text.split(":")[0]
    assert c2.summary.lower().startswith("cancer history") and "no cancer history" in c3.summary.lower()
