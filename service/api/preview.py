"""``GET /preview`` (development profile only): every fixture case with the card it produces.

Clinical reviewers read all card wording on one page, rendered as an EHR would show it. Card detail
is Markdown from our own templates, but it interpolates patient data, so raw HTML in it is escaped,
never rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from markupsafe import Markup
from starlette.responses import HTMLResponse

from service.api.deps import State
from service.cdshooks.models import Card, dump_clean
from service.engine import evaluate
from service.fixtures_catalog import list_cases
from service.knowledge import Knowledge, load_knowledge

if TYPE_CHECKING:
    from jinja2 import Environment
    from markdown_it import MarkdownIt

router = APIRouter()


# markdown-it and jinja2 are imported on the first /preview request, not in every worker: the page is for
# reviewers on the development profile and most workers never serve it.
@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})


@cache
def _templates() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
        autoescape=select_autoescape(["html"]),
    )


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML escaped and unsafe link schemes refused by markdown-it."""
    # Safe to mark: markdown-it was built with html=False, so raw HTML in the text is escaped.
    return Markup(_markdown().render(text))


@dataclass(frozen=True)
class PreviewCase:
    name: str
    story: str
    as_of: str
    expected_tier: str | None
    tier: str | None
    cards: list[dict[str, Any]]


def _card_view(card: Card) -> dict[str, Any]:
    wire: dict[str, Any] = dump_clean(card)
    wire["detail_html"] = render_markdown(card.detail or "")
    return wire


def preview_cases(state: State) -> list[PreviewCase]:
    spec = state.knowledge.service
    cases = []
    for case in list_cases():
        knowledge: Knowledge = state.knowledge
        if case.config_overrides:  # a case that shows a site setting, e.g. C5 switched on
            knowledge = load_knowledge(state.knowledge.root, case.config_overrides)
        result = evaluate(case.record(spec), knowledge, case.as_of, f"preview-{case.name}")
        cases.append(
            PreviewCase(
                name=case.name,
                story=str(case.meta.get("story", "")),
                as_of=case.as_of.isoformat(),
                expected_tier=case.tier,
                tier=result.tier,
                cards=[_card_view(card) for card in result.cards],
            )
        )
    return cases


@router.get("/preview", include_in_schema=False)
async def preview(state: State) -> HTMLResponse:
    html = _templates().get_template("preview.html").render(cases=preview_cases(state))
    return HTMLResponse(html)
