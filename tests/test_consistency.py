"""The fixture set and the knowledge hold together (STYLE habit 3).

Fails on: a rule without an ``in`` and an ``out`` case, a case without a golden file (or an empty one),
a card whose tier has no rule, an unresolved value-set reference, a summary of 140 characters or more, a
case name or id that breaks the naming rules, ids repeated across cases.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from service.fixtures_catalog import list_cases
from service.knowledge.config import Role
from tests.support.engine import knowledge

TIERS = ["C1", "C1M", "C2", "C3", "C3R", "C4", "C5"]
RULES = TIERS + [f"F{i}" for i in range(1, 13)]
NAME = re.compile(r"^(C[1-5]|C1M|C3R|F([1-9]|1[0-2]))--(in|out)--[a-z0-9-]+$")
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
CASES = list_cases()


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_in_and_out_cases(rule: str) -> None:
    kinds = {c.expect for c in CASES if c.rule == rule}
    assert kinds == {"in", "out"}, f"{rule} needs an in and an out case, has {sorted(kinds)}"


def test_every_case_is_well_formed_and_has_a_golden_file() -> None:
    for case in CASES:
        assert NAME.match(case.name), case.name
        assert case.name.startswith(f"{case.rule}--{case.expect}--")
        assert set(case.meta) <= {"asOf", "rule", "expect", "tier", "story", "overrides"}
        assert case.tier in (None, *TIERS)
        assert case.meta["story"].strip()
        assert case.expected_path.exists(), f"{case.name} has no expected.json"
        assert {p.name for p in case.path.iterdir()} <= {"bundle.json", "case.json", "expected.json", "prefetch.json"}
        assert "cards" in case.expected()


def test_ids_are_unique_across_cases_and_references_resolve() -> None:
    seen: Counter[str] = Counter()
    for case in CASES:
        resources = case.resources()
        assert case.bundle["type"] == "collection"
        assert sum(r["resourceType"] == "Patient" for r in resources) == 1
        local = {f"{r['resourceType']}/{r['id']}" for r in resources}
        for r in resources:
            assert ID.match(r["id"]), r["id"]
            seen[r["id"]] += 1
            subject = r.get("subject", {}).get("reference")
            assert subject is None or subject == f"Patient/{case.patient_id}"
        for card in case.expected()["cards"]:
            for suggestion in card.get("suggestions", []):
                for action in suggestion["actions"]:
                    for ref in action["resource"]["reasonReference"]:
                        assert ref["reference"] in local
    assert [i for i, n in seen.items() if n > 1] == []


def test_every_card_comes_from_a_rule_and_states_its_tier() -> None:
    k = knowledge()
    for case in CASES:
        for card in case.expected()["cards"]:
            tier = case.tier
            assert tier in k.cards.tiers, f"{case.name}: card without a rule"
            assert card["summary"] == k.cards.tiers[tier].summary
            assert card["indicator"] == k.cards.tiers[tier].indicator
            assert len(card["summary"]) < 140
            assert "uuid" in card and all("uuid" in s for s in card.get("suggestions", []))


def test_summaries_are_short_and_never_diagnose() -> None:
    for tier, text in knowledge().cards.tiers.items():
        assert len(text.summary) < 140, tier
        assert "consider" in text.wording.lower(), tier


def test_every_value_set_role_resolves_and_every_file_is_used() -> None:
    k = knowledge()
    assert {r.value for r in Role} == set(k.config.value_sets)
    used = {vs.url for vs in k.by_role.values()}
    assert used == set(k.value_sets), f"unused value sets: {set(k.value_sets) - used}"
