"""Shows cards in a terminal the way a clinician would read them (``backpain-cds evaluate``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from service.cdshooks.models import Card

INDICATOR_STYLE = {"critical": "bold white on red", "warning": "bold black on yellow", "info": "bold white on blue"}


def _codes(resource: dict[str, Any]) -> str:
    concepts = [resource.get("code")] + [c for c in resource.get("reasonCode") or () if isinstance(c, dict)]
    parts: list[str] = []
    for concept in concepts:
        for coding in (concept or {}).get("coding") or ():
            parts.append(f"{coding.get('system', '')}|{coding.get('code', '')} {coding.get('display', '')}".strip())
    return "\n".join(parts) or "-"


def _orders(card: Card) -> Table | None:
    rows = [
        (s.label, action.description, _codes(action.resource or {})) for s in card.suggestions for action in s.actions
    ]
    if not rows:
        return None
    table = Table(title="Proposed orders", show_lines=True, expand=True)
    for column in ("Suggestion", "Action", "Codes"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def card_panel(card: Card, tier: str | None) -> Panel:
    """One card: indicator and tier, summary, detail (its Markdown tables hold the evidence), orders, links."""
    header = Text.assemble((f" {card.indicator.upper()} ", INDICATOR_STYLE[card.indicator]), f"  tier: {tier or '-'}")
    parts: list[RenderableType] = [header, Text(card.summary, style="bold")]
    if card.detail:
        parts.append(Markdown(card.detail))
    orders = _orders(card)
    if orders is not None:
        parts.append(orders)
    parts.extend(Text(f"{link.label}: {link.url}", style="link " + link.url) for link in card.links)
    return Panel(Group(*parts), title=card.source.label, expand=True)


def show(cards: Sequence[Card], tier: str | None, unavailable: Iterable[str], console: Console) -> None:
    """Print every card, or say plainly that there is none, and name the data that was not evaluated."""
    if not cards:
        console.print("No card: no red flag found for this patient.")
    for card in cards:
        console.print(card_panel(card, tier))
    missing = sorted(unavailable)
    if missing:
        console.print(f"Not evaluated (data unavailable): {', '.join(missing)}", style="yellow")
