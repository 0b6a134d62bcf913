"""The terminal view of a card: what a clinician needs is on screen."""

from __future__ import annotations

from rich.console import Console

from service.cdshooks.models import Action, Card, Link, Source, Suggestion
from service.commands.card_view import show

MRI = {
    "resourceType": "ServiceRequest",
    "status": "draft",
    "intent": "proposal",
    "code": {"coding": [{"system": "http://loinc.org", "code": "24967-8", "display": "MR Lumbar spine"}]},
}


def render(cards: list[Card], unavailable: frozenset[str] = frozenset()) -> str:
    console = Console(record=True, width=140)
    show(cards, "urgent", unavailable, console)
    return console.export_text()


def test_card_shows_indicator_tier_summary_evidence_orders_and_links():
    card = Card(
        summary="Back pain with red flags for spinal tumour",
        detail="| Evidence | Value |\n|---|---|\n| History of cancer | Condition/c1 |",
        indicator="critical",
        source=Source(label="Back-pain red flags"),
        suggestions=[Suggestion(label="Order MRI", actions=[Action(type="create", description="MRI", resource=MRI)])],
        selection_behavior="any",
        links=[Link(label="NICE NG59", url="https://www.nice.org.uk/guidance/ng59", type="absolute")],
    )
    screen = render([card], frozenset({"imagingStudies"}))
    for text in (
        "CRITICAL",
        "tier: urgent",
        "Back pain with red flags for spinal tumour",
        "History of cancer",
        "http://loinc.org|24967-8 MR Lumbar spine",
        "NICE NG59: https://www.nice.org.uk/guidance/ng59",
        "Not evaluated (data unavailable): imagingStudies",
    ):
        assert text in screen, text


def test_no_card_is_said_plainly():
    assert "No card" in render([])
