"""``backpain-cds report``: cards issued, accepted, overridden by reason, snoozed, per tier and week.

Reads the database the service writes (``BACKPAIN_CDS_DATABASE_URL`` or ``--database-url``); read-only.
``--since`` / ``--until`` are UTC dates, both included.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich and the analytics (SQLAlchemy) are imported when the command runs, not by every CLI start
    from rich.table import Table

    from service.analytics.report import Figures, Report


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="card analytics per tier and week (issued, accepted, overridden)")
    parser.add_argument("--since", type=_day, help="first day (UTC), included")
    parser.add_argument("--until", type=_day, help="last day (UTC), included")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--chart", type=Path, help="also write a chart of cards and acceptance per week (.png/.svg)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: BACKPAIN_CDS_DATABASE_URL)")
    parser.set_defaults(func=run)


def _kind_cell(figures: Figures, kind: str) -> str:
    offered = figures.offered[kind]
    if not offered:
        return "-"
    taken = figures.taken[kind]
    return f"{taken}/{offered} ({100 * taken / offered:.0f}%)"


def _reasons(figures: Figures) -> str:
    if not figures.overridden:
        return "0"
    parts = ", ".join(f"{code} {n}" for code, n in sorted(figures.overridden.items()))
    return f"{figures.overridden_total}: {parts}"


def table(report: Report) -> Table:
    from rich.table import Table

    period = f"{report.since.date() if report.since else 'start'} to " + (
        f"{(report.until - timedelta(days=1)).date()}" if report.until else "now"
    )
    out = Table(title=f"Cards per tier and week ({period})", show_lines=False)
    for name in ("Week", "Tier", "Issued", "Accepted", "Overridden (by reason)", "No feedback"):
        out.add_column(name, justify="left" if name in ("Week", "Tier", "Overridden (by reason)") else "right")
    for kind in report.kinds:
        out.add_column(f"{kind} accepted", justify="right")
    out.add_column("Snoozes", justify="right")
    out.add_column("Held back", justify="right")

    def row(week: str, tier: str, f: Figures, style: str | None = None) -> None:
        out.add_row(
            week, tier, str(f.issued), str(f.accepted), _reasons(f), str(f.no_feedback),
            *(_kind_cell(f, kind) for kind in report.kinds), str(f.snoozes), str(f.held_back), style=style,
        )

    for (week, tier), figures in sorted(report.cells.items()):
        row(week, tier, figures)
    if report.cells:
        out.add_section()
    for tier, figures in report.totals().items():
        row("all", tier, figures, style="bold")
    return out


def data_quality_line(report: Report) -> str:
    """The data-quality reason on its own line: each such override says the record misses a red flag."""
    found = report.record_lacks_red_flag()
    total = sum(found.values())
    where = ", ".join(f"{week} {tier}: {n}" for (week, tier), n in found.items())
    return (
        f"Data quality: {total} card{'' if total == 1 else 's'} overridden with {report.data_quality_code} "
        f"({report.data_quality_display})" + (f": {where}" if where else "")
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from sqlalchemy import inspect

    from service.analytics.report import build_report
    from service.knowledge import load_knowledge
    from service.settings import get_settings
    from service.storage.cards import CardLog
    from service.storage.db import make_engine

    settings = get_settings()
    since = datetime.combine(args.since, time(), UTC) if args.since else None
    until = datetime.combine(args.until + timedelta(days=1), time(), UTC) if args.until else None
    if since and until and since >= until:
        print("backpain-cds report: --since is after --until", file=sys.stderr)
        return 2
    knowledge = load_knowledge(settings.knowledge_dir)
    engine = make_engine(args.database_url or settings.database_url)
    try:
        if "issued_card" not in inspect(engine).get_table_names():
            print("backpain-cds report: the database has no card record yet; run `backpain-cds migrate`",
                  file=sys.stderr)
            return 1
        log = CardLog(engine)
        cards = log.cards_between(since, until)
        feedback = log.feedback_for((c["service_id"], c["card_uuid"]) for c in cards)
    finally:
        engine.dispose()
    policy = knowledge.feedback
    report = build_report(
        cards, feedback, kinds=policy.kinds, snooze=(policy.snooze_system, policy.snooze_code),
        data_quality=(policy.data_quality_system, policy.data_quality_code),
        data_quality_display=policy.data_quality_display, since=since, until=until,
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        console = Console(width=200)
        console.print(table(report))
        console.print(data_quality_line(report))
    if args.chart is not None:
        from service.analytics.chart import write_chart

        try:
            write_chart(report, args.chart)
        except ValueError as exc:
            print(f"backpain-cds report: {exc}", file=sys.stderr)
            return 2
    return 0
