"""``backpain-cds report`` (issue 18): a seeded stream of invocations and feedback gives exactly the figures.

The stream goes through the real endpoints (two replicas on one database, SQLite and PostgreSQL) on the
service clock; the report is read back through the command line. Suggestion kinds offered are counted
here from each card's ServiceRequest category and label, independently of the service's kind rules.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from tests.support.app import client_for, settings_for
from tests.support.closed_loop import MovingClock, accept, kind_of, override
from tests.support.engine import knowledge
from tests.support.postgres import PostgresServer
from tests.test_closed_loop import Service

MONDAY_W23 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # ISO week 2026-W23
MONDAY_W24 = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
LOCAL = "https://backpain-cds.example.org/fhir/CodeSystem/override-reason"


def only(card: dict[str, Any], kind: str, at: datetime) -> dict[str, Any]:
    """Accept the suggestions of one kind only."""
    ids = [{"id": s["uuid"]} for s in card["suggestions"] if kind_of(s) == kind]
    return {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "acceptedSuggestions": ids}


class Expected:
    """Per (week, tier): the cards and what was offered, as the stream goes."""

    def __init__(self) -> None:
        self.offered: dict[tuple[str, str], Counter[str]] = {}
        self.taken: dict[tuple[str, str], Counter[str]] = {}

    def shown(self, week: str, tier: str, card: dict[str, Any]) -> None:
        self.offered.setdefault((week, tier), Counter()).update(kind_of(s) for s in card.get("suggestions", []))

    def took(self, week: str, tier: str, card: dict[str, Any], kinds: set[str] | None = None) -> None:
        chosen = [kind_of(s) for s in card["suggestions"] if kinds is None or kind_of(s) in kinds]
        self.taken.setdefault((week, tier), Counter()).update(chosen)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Expected]]:
    """One seeded database per back-end, shared by the module's read-only report tests."""
    directory = tmp_path_factory.mktemp("report")
    if request.param == "sqlite":
        database_url = f"sqlite:///{directory / 'cds.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database_url = server.create_database()
    clock = MovingClock(MONDAY_W23)
    expected = Expected()
    settings = settings_for(directory, database_url=database_url)
    with ExitStack() as stack:
        a, b = (Service(stack.enter_context(client_for(settings, clock=clock, knowledge=knowledge())), clock)
                for _ in range(2))
        # Week 23
        [c3_1] = a.open_chart("C3", patient="p1")
        [c3_2] = b.open_chart("C3", patient="p2")
        [c3_3] = a.open_chart("C3", patient="p3")
        [c3_4] = b.open_chart("C3", patient="p4")
        [c4_5] = a.open_chart("C4", patient="p5")
        [c4_6] = b.open_chart("C4", patient="p6")
        [c1_7] = a.open_chart("C1", patient="p7")
        for card, tier in ((c3_1, "C3"), (c3_2, "C3"), (c3_3, "C3"), (c3_4, "C3"), (c4_5, "C4"),
                           (c4_6, "C4"), (c1_7, "C1")):
            expected.shown("2026-W23", tier, card)
        clock.advance(minutes=10)
        now = clock.now
        b.feedback(accept(c3_1, now), only(c3_2, "mri", now), override(c3_3, "action-completed", now),
                   override(c4_5, "snooze", now), override(c4_6, None, now), accept(c1_7, now))
        a.feedback(accept(c3_1, now))  # a duplicate POST counts once
        expected.took("2026-W23", "C3", c3_1)
        expected.took("2026-W23", "C3", c3_2, {"mri"})
        expected.took("2026-W23", "C1", c1_7)
        clock.advance(days=1)
        assert a.open_chart("C4", patient="p5") == []  # held back, Tuesday of W23
        # Week 24
        clock.now = MONDAY_W24
        assert b.open_chart("C4", patient="p5") == []
        [c3_1b] = a.open_chart("C3", patient="p1")
        [c3_8] = b.open_chart("C3", patient="p8")
        [c1_9] = a.open_chart("C1", patient="p9")
        for card, tier in ((c3_1b, "C3"), (c3_8, "C3"), (c1_9, "C1")):
            expected.shown("2026-W24", tier, card)
        clock.advance(minutes=5)
        a.feedback(override(c3_1b, "indication-order-exists", clock.now))
        clock.advance(minutes=5)
        b.feedback(accept(c3_1b, clock.now), override(c3_8, "patient-refuses", clock.now))
        clock.advance(minutes=5)
        a.feedback(override(c3_8, "cds-not-applicable", clock.now))  # the latest reason is the card's
        expected.took("2026-W24", "C3", c3_1b)
        # Week 24, order hooks (issue 19): their own rows; "red flag not in record" also on its own line.
        select_url, [early_10] = a.order("C3--out--order-select-early-mri-without-red-flags", patient="p10")
        sign_url, [early_11] = b.order("C3--out--order-sign-early-ct-without-red-flags", patient="p11")
        _, [early_12] = a.order("C3--out--order-select-early-mri-without-red-flags", patient="p12")
        _, [mri_13] = b.order("C1M--in--order-select-pama-ct-draft-gets-whole-spine-mri", patient="p13")
        _, [mri_14] = a.order("C1M--in--order-select-pama-ct-draft-gets-whole-spine-mri", patient="p14")
        expected.shown("2026-W24", "order/C1M", mri_13)
        expected.shown("2026-W24", "order/C1M", mri_14)
        clock.advance(minutes=5)
        b.order_feedback(select_url, override(early_10, "red-flag-not-in-record", clock.now),
                         override(early_12, "cds-not-applicable", clock.now), accept(mri_13, clock.now),
                         override(mri_14, "red-flag-not-in-record", clock.now, system=LOCAL))
        a.order_feedback(sign_url, override(early_11, "red-flag-not-in-record", clock.now))
        expected.took("2026-W24", "order/C1M", mri_13)
        yield database_url, expected


def _report(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["report", "--database-url", url, "--json", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _kinds(expected: Expected, week: str, tier: str) -> dict[str, dict[str, int]]:
    offered = expected.offered.get((week, tier), Counter())
    taken = expected.taken.get((week, tier), Counter())
    return {k: {"offered": offered[k], "accepted": taken[k]} for k in ("mri", "referral", "bloods", "ct", "other")}


def _row(week: str, tier: str, expected: Expected, **figures: Any) -> dict[str, Any]:
    base = {"issued": 0, "accepted": 0, "overridden": 0, "overriddenByReason": {}, "noFeedback": 0,
            "snoozes": 0, "heldBack": 0, "recordLacksRedFlag": 0}
    base.update(figures)
    base["overridden"] = sum(base["overriddenByReason"].values())
    return {"week": week, "tier": tier, **base, "acceptanceByKind": _kinds(expected, week, tier)}


def test_report_gives_exactly_the_seeded_figures(
    seeded: tuple[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    url, expected = seeded
    report = _report(capsys, url)
    assert report["rows"] == [
        _row("2026-W23", "C1", expected, issued=1, accepted=1),
        _row("2026-W23", "C3", expected, issued=4, accepted=2, overriddenByReason={"action-completed": 1},
             noFeedback=1),
        _row("2026-W23", "C4", expected, issued=2, overriddenByReason={"snooze": 1, "(none)": 1}, snoozes=1,
             heldBack=1),
        _row("2026-W24", "C1", expected, issued=1, noFeedback=1),
        _row("2026-W24", "C3", expected, issued=2, accepted=1, overriddenByReason={"cds-not-applicable": 1}),
        _row("2026-W24", "C4", expected, heldBack=1),
        # A reason sent for a card that does not offer it is still what the clinician said: counted.
        _row("2026-W24", "order/C1M", expected, issued=2, accepted=1,
             overriddenByReason={"red-flag-not-in-record": 1}, recordLacksRedFlag=1),
        _row("2026-W24", "order/none", expected, issued=3,
             overriddenByReason={"red-flag-not-in-record": 2, "cds-not-applicable": 1}, recordLacksRedFlag=2),
    ]
    totals = {t["tier"]: t for t in report["totals"]}
    assert {tier: totals[tier]["issued"] for tier in totals} == {
        "C1": 2, "C3": 6, "C4": 2, "order/C1M": 2, "order/none": 3}
    assert {tier: totals[tier]["recordLacksRedFlag"] for tier in totals} == {
        "C1": 0, "C3": 0, "C4": 0, "order/C1M": 1, "order/none": 2}
    assert report["dataQuality"] == {
        "reason": "red-flag-not-in-record", "display": "A red flag is present that the record does not show",
        "recordLacksRedFlag": 3,
        "byWeekAndTier": [{"week": "2026-W24", "tier": "order/C1M", "count": 1},
                          {"week": "2026-W24", "tier": "order/none", "count": 2}]}
    assert totals["C3"]["overriddenByReason"] == {"action-completed": 1, "cds-not-applicable": 1}
    assert totals["C3"]["acceptanceByKind"]["mri"] == {"offered": 6, "accepted": 3}
    assert totals["C4"]["heldBack"] == 2 and totals["C4"]["snoozes"] == 1


def test_report_since_and_until_select_whole_days(
    seeded: tuple[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = seeded
    week_24 = _report(capsys, url, "--since", "2026-06-08")
    assert {(r["week"], r["tier"]) for r in week_24["rows"]} == {
        ("2026-W24", t) for t in ("C1", "C3", "C4", "order/C1M", "order/none")}
    assert _report(capsys, url, "--until", "2026-06-07")["dataQuality"]["recordLacksRedFlag"] == 0
    monday_only = _report(capsys, url, "--since", "2026-06-01", "--until", "2026-06-01")
    assert {(r["tier"], r["issued"], r["heldBack"]) for r in monday_only["rows"]} == {
        ("C1", 1, 0), ("C3", 4, 0), ("C4", 2, 0)}


def test_report_table_and_charts(
    seeded: tuple[str, Expected], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, _ = seeded
    capsys.readouterr()
    png, svg = tmp_path / "chart.png", tmp_path / "chart.svg"
    assert main(["report", "--database-url", url, "--chart", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Cards per tier and week" in out and "2026-W24" in out and "action-completed 1" in out
    assert ("Data quality: 3 cards overridden with red-flag-not-in-record (A red flag is present that the record "
            "does not show): 2026-W24 order/C1M: 1, 2026-W24 order/none: 2") in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", "--database-url", url, "--json", "--chart", str(svg)]) == 0
    assert "<svg" in svg.read_text()
    assert main(["report", "--database-url", url, "--chart", str(tmp_path / "chart.gif")]) == 2


def test_report_on_an_unmigrated_database_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]) == 1
    assert "backpain-cds migrate" in capsys.readouterr().err
