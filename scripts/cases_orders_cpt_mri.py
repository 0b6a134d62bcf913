"""Fixture cases: a recent spine MRI coded only in CPT suppresses the repeat MRI (issue 19, left from issue 12).

The spineMri value sets hold no CPT code; ``cards/spine-imaging.json`` holds the verified CPT spine MRI codes
(72141-72158 without 72159), and ``service/rules/recent_mri.py`` reads them from there. Each case mirrors a
LOINC-coded revision-2 case so the two codings can be compared. CPT codings carry no display: the AMA
descriptor is licensed text and never part of this repository. T = 2026-03-15T10:00Z.
"""

from __future__ import annotations

from typing import Any

from cases_orders import BACKACHE, CPT, draft, order_context
from fixture_kit import ICD, SCT, Res, born_years_ago, cc, condition, day, imaging, instant, patient, report, weight

Case = tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]
LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
SADDLE = cc(SCT, "449813001", "Numbness of saddle area (finding)")
CORD = cc(ICD, "G95.20", "Unspecified cord compression")
CPT_MRI_LUMBAR = {"coding": [{"system": CPT, "code": "72148"}]}
CPT_MRI_THORACIC = {"coding": [{"system": CPT, "code": "72146"}]}

_CONTEXTS: dict[str, dict[str, Any]] = {}


def define() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, tier: str | None, story: str, res: list[Res], ctx: dict[str, Any] | None = None) -> None:
        cases.append((name, name.split("--")[0], tier, story, res, None))
        if ctx is not None:
            _CONTEXTS[name] = ctx

    s = "cpt1"
    add(
        "F10--in--c1-cpt-lumbar-mri-3-hours-ago-covers-cauda-equina",
        "C1",
        "Saddle numbness with low back pain; a lumbar MRI coded only in CPT (72148) done 3 hours ago covers the"
        " lumbosacral spine: no new MRI, the emergency referral stays.",
        [patient(s, born_years_ago(38)), condition(s, "bp", LBP, day(5)), condition(s, "sad", SADDLE, day(0)),
         imaging(s, "mri", instant(0.125), CPT_MRI_LUMBAR)],
    )
    s = "cpt2"
    add(
        "C1--in--cpt-lumbar-mri-does-not-cover-cord",
        "C1",
        "Cord compression needs the whole spine: a CPT-coded lumbar MRI (72148) done 3 hours ago keeps the"
        " whole-spine suggestion and the card says which region was covered.",
        [patient(s, born_years_ago(38)), condition(s, "bp", LBP, day(5)), condition(s, "cord", CORD, day(0)),
         imaging(s, "mri", instant(0.125), CPT_MRI_LUMBAR)],
    )
    s = "cpt3"
    add(
        "F10--in--c3-cpt-thoracic-mri-report-no-new-mri",
        "C3",
        "Weight loss red flag, and a thoracic MRI report coded only in CPT (72146) 6 days ago: no MRI or CT.",
        [patient(s, born_years_ago(62), "male"), condition(s, "bp", LBP, day(80)),
         weight(s, "w1", instant(200), 85.0), weight(s, "w2", instant(5), 80.0),
         report(s, "mri", instant(6), CPT_MRI_THORACIC)],
    )
    s = "cpt4"
    pid = f"{s}-pat"
    add(
        "F10--in--order-sign-repeat-mri-after-cpt-mri-today",
        "C1",
        "Signing another lumbar MRI (CPT 72148) 3 hours after one coded in CPT was done, with saddle numbness: the"
        " tier's plan proposes no MRI, so these criteria do not rate the repeat.",
        [patient(s, born_years_ago(47), "male"), condition(s, "bp", LBP, day(9)), condition(s, "sad", SADDLE, day(0)),
         imaging(s, "mri", instant(0.125), CPT_MRI_LUMBAR)],
        order_context(
            "order-sign",
            pid,
            [draft(pid, f"{s}-draft-mri", CPT, "72148", BACKACHE)],
            {f"ServiceRequest/{s}-draft-mri": "no-criteria"},
        ),
    )
    return cases


def extra_files() -> dict[str, dict[str, Any]]:
    """``{case name: {file name: JSON content}}`` written next to each case's bundle.json."""
    if not _CONTEXTS:
        define()
    return {name: {"context.json": ctx} for name, ctx in _CONTEXTS.items()}
