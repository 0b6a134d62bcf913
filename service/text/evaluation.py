"""Precision and recall of the clinical text step on a labelled sentence set (tests/text/sentences.tsv).

A row names one sign and whether it must be counted (1) or must not (0); ``none`` rows must count no sign.
Used by ``scripts/text_eval.py`` (printing) and the tests (asserting per category).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from service.text.pipeline import ClinicalText


@dataclass(frozen=True)
class Row:
    sign: str
    expect: bool
    category: str
    text: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / total if total else 1.0


def read_rows(path: Path) -> list[Row]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [Row(r["sign"], r["expect"] == "1", r["category"], r["text"]) for r in reader]


def score(ct: ClinicalText, rows: Iterable[Row]) -> tuple[dict[str, Score], dict[str, Score]]:
    """Scores per sign and per category. A ``none`` row that counts any sign is a false positive of that sign."""
    by_sign: dict[str, Score] = {}
    by_category: dict[str, Score] = {}
    for row in rows:
        found = {m.sign for m in ct.read(row.text) if m.counted}
        signs = sorted(found) if row.sign == "none" else [row.sign]
        hit = bool(found) if row.sign == "none" else row.sign in found
        for sign in signs or ["none"]:
            for table, key in ((by_sign, sign), (by_category, row.category)):
                s = table.setdefault(key, Score())
                if row.expect and hit:
                    s.tp += 1
                elif row.expect:
                    s.fn += 1
                    s.wrong.append(f"missed {row.sign}: {row.text}")
                elif hit:
                    s.fp += 1
                    s.wrong.append(f"wrongly counted {sign}: {row.text}")
                else:
                    s.tn += 1
    return by_sign, by_category
