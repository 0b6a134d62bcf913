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
from service.rules.base import Finding

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


def evidence_table(findings: Iterable[Finding], labels: dict[str, str]) -> Table | None:
    """The resources behind each flag found: what matched, its code, the value against its threshold."""
    table = Table(title="Evidence", show_lines=True, expand=True)
    for column in ("Flag", "Found", "Code (value set)", "Observed vs threshold", "Resource", "Date"):
        table.add_column(column)
    for finding in findings:
        for ev in finding.evidence if finding.present else ():
            code = ev.code[1] if ev.code else (f"text: {ev.text_match!r}" if ev.text_match else "")
            value = " vs ".join(v for v in (ev.observed, ev.threshold) if v)
            table.add_row(
                labels.get(finding.feature, finding.feature),
                ev.what,
                "\n".join(x for x in (code, ev.value_set and f"({ev.value_set})") if x) or "-",
                value or "-",
                ev.ref,
                ev.date.iso_day() if ev.date else "-",
            )
    return table if table.row_count else None


def card_panel(card: Card, tier: str | None, evidence: Table | None = None) -> Panel:
    """One card: indicator and tier, summary, detail, the evidence table, proposed orders, links."""
    header = Text.assemble((f" {card.indicator.upper()} ", INDICATOR_STYLE[card.indicator]), f"  tier: {tier or '-'}")
    parts: list[RenderableType] = [header, Text(card.summary, style="bold")]
    if card.detail:
        parts.append(Markdown(card.detail))
    if evidence is not None:
        parts.append(evidence)
    orders = _orders(card)
    if orders is not None:
        parts.append(orders)
    parts.extend(Text(f"{link.label}: {link.url}", style="link " + link.url) for link in card.links)
    return Panel(Group(*parts), title=card.source.label, expand=True)


def show(
    cards: Sequence[Card],
    tier: str | None,
    unavailable: Iterable[str],
    console: Console,
    evidence: Table | None = None,
) -> None:
    """Print every card, or say plainly that there is none, and name the data that was not evaluated."""
    if not cards:
        console.print("No card: no red flag found for this patient.")
    for card in cards:
        console.print(card_panel(card, tier, evidence))
    missing = sorted(unavailable)
    if missing:
        console.print(f"Not evaluated (data unavailable): {', '.join(missing)}", style="yellow")
