"""What the CDS committee reads: per tier and ISO week, what happened to the cards (issue 18).

Pure: rows in, figures out. Each shown card counts once, in the week it was issued, by its outcome:
**accepted** when any feedback item accepted it, else **overridden** (by the reason of its latest
overriding item, ``(none)`` without a reason) when any item overrode it, else **no feedback**; so
issued = accepted + overridden + no feedback. **Snoozes** are the overridden cards whose reason is the
snooze reason; **held back** are the cards a snooze kept from being shown (never counted as issued).
Acceptance per suggestion kind: suggestions of that kind on shown cards, and how many of them were
accepted (a suggestion accepted twice counts once). **Record lacks red flag** are the overridden cards whose
reason is the data-quality reason (``cards/feedback.json`` ``dataQuality``: "a red flag is present that the
record does not show", offered on the order hooks' early-imaging card): counted within overridden and again on
their own line, because they say the record, not the card, needs mending.

Order-select / order-sign cards are recorded with the tier label ``order/<patient tier>`` (``order/none``:
the early-imaging card), so they get their own rows beside the chart cards' tiers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.storage.cards import utc

NO_REASON = "(none)"


@dataclass
class Figures:
    """The counts of one (week, tier) cell, or of one tier over the whole period."""

    issued: int = 0
    accepted: int = 0
    overridden: Counter[str] = field(default_factory=Counter)
    no_feedback: int = 0
    snoozes: int = 0
    held_back: int = 0
    record_lacks_red_flag: int = 0
    offered: Counter[str] = field(default_factory=Counter)
    taken: Counter[str] = field(default_factory=Counter)

    @property
    def overridden_total(self) -> int:
        return sum(self.overridden.values())

    def add(self, other: Figures) -> None:
        self.issued += other.issued
        self.accepted += other.accepted
        self.overridden.update(other.overridden)
        self.no_feedback += other.no_feedback
        self.snoozes += other.snoozes
        self.held_back += other.held_back
        self.record_lacks_red_flag += other.record_lacks_red_flag
        self.offered.update(other.offered)
        self.taken.update(other.taken)

    def as_json(self, kinds: Sequence[str]) -> dict[str, Any]:
        return {
            "issued": self.issued,
            "accepted": self.accepted,
            "overridden": self.overridden_total,
            "overriddenByReason": dict(sorted(self.overridden.items())),
            "noFeedback": self.no_feedback,
            "snoozes": self.snoozes,
            "heldBack": self.held_back,
            "recordLacksRedFlag": self.record_lacks_red_flag,
            "acceptanceByKind": {
                kind: {"offered": self.offered[kind], "accepted": self.taken[kind]} for kind in kinds
            },
        }


@dataclass
class Report:
    since: datetime | None
    until: datetime | None
    kinds: list[str]
    cells: dict[tuple[str, str], Figures]  # (ISO week, tier)
    data_quality_code: str | None = None
    data_quality_display: str | None = None

    def totals(self) -> dict[str, Figures]:
        out: dict[str, Figures] = {}
        for (_, tier), figures in sorted(self.cells.items()):
            out.setdefault(tier, Figures()).add(figures)
        return dict(sorted(out.items()))

    def record_lacks_red_flag(self) -> dict[tuple[str, str], int]:
        """(week, tier) -> cards overridden with the data-quality reason, where there are any."""
        return {key: f.record_lacks_red_flag for key, f in sorted(self.cells.items()) if f.record_lacks_red_flag}

    def weeks(self) -> list[str]:
        return sorted({week for week, _ in self.cells})

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "kinds": self.kinds,
            "rows": [
                {"week": week, "tier": tier, **figures.as_json(self.kinds)}
                for (week, tier), figures in sorted(self.cells.items())
            ],
            "totals": [{"tier": tier, **f.as_json(self.kinds)} for tier, f in self.totals().items()],
            "dataQuality": {
                "reason": self.data_quality_code,
                "display": self.data_quality_display,
                "recordLacksRedFlag": sum(self.record_lacks_red_flag().values()),
                "byWeekAndTier": [
                    {"week": week, "tier": tier, "count": n} for (week, tier), n in self.record_lacks_red_flag().items()
                ],
            },
        }


def iso_week(when: datetime) -> str:
    year, week, _ = utc(when).isocalendar()
    return f"{year}-W{week:02d}"


def _accepted_ids(item: Mapping[str, Any]) -> list[str]:
    raw = item.get("accepted_suggestions")
    ids = json.loads(raw) if raw else []
    return [str(i) for i in ids] if isinstance(ids, list) else []


def build_report(
    cards: Iterable[Mapping[str, Any]],
    feedback: Iterable[Mapping[str, Any]],
    *,
    kinds: Sequence[str],
    snooze: tuple[str, str],
    data_quality: tuple[str, str] | None = None,
    data_quality_display: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """Figures from card rows (``issued_card``) and the feedback rows answering them (``feedback``)."""
    by_card: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for item in feedback:
        by_card.setdefault((item["service_id"], item["card_uuid"]), []).append(item)
    cells: dict[tuple[str, str], Figures] = {}
    seen_kinds = list(kinds)
    for card in cards:
        cell = cells.setdefault((iso_week(card["issued_at"]), card["tier"]), Figures())
        if card["snoozed"]:
            cell.held_back += 1
            continue
        cell.issued += 1
        suggestions = [(str(uuid), str(kind)) for uuid, kind in json.loads(card["suggestions"] or "[]")]
        for _, kind in suggestions:
            cell.offered[kind] += 1
            if kind not in seen_kinds:
                seen_kinds.append(kind)
        items = by_card.get((card["service_id"], card["card_uuid"]), [])
        accepted = [i for i in items if i["outcome"] == "accepted"]
        overriding = [i for i in items if i["outcome"] == "overridden"]
        if accepted:
            cell.accepted += 1
            taken = {sid for item in accepted for sid in _accepted_ids(item)}
            for uuid, kind in suggestions:
                if uuid in taken:
                    cell.taken[kind] += 1
        elif overriding:
            latest = max(overriding, key=lambda i: (utc(i["outcome_timestamp"]), i["id"]))
            cell.overridden[latest["override_code"] or NO_REASON] += 1
            if (latest["override_system"], latest["override_code"]) == snooze:
                cell.snoozes += 1
            if (latest["override_system"], latest["override_code"]) == data_quality:
                cell.record_lacks_red_flag += 1
        else:
            cell.no_feedback += 1
    code = data_quality[1] if data_quality else None
    return Report(
        since=since, until=until, kinds=seen_kinds, cells=cells, data_quality_code=code,
        data_quality_display=data_quality_display,
    )
