"""Write ``fixtures/cases/<name>/{bundle,case}.json`` for every hand-written case (T = 2026-03-15T10:00Z).

Goldens (expected.json) are written by ``pytest tests/test_golden.py --update-golden``; review every diff.
Codes are the verified ones of CLINICAL_RULES.md (see cards/valuesets for sources).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_kit import (
    AS_OF,
    ICD,
    ICD_WHO,
    LOINC,
    SCT,
    Res,
    born_years_ago,
    bundle,
    care_plan,
    cc,
    condition,
    day,
    imaging,
    instant,
    med,
    patient,
    procedure,
    report,
    service_request,
    symptom,
    weight,
)

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
LBP_SCT = cc(SCT, "279039007", "Low back pain (finding)")
CHRONIC_LBP = cc(SCT, "278860009", "Chronic low back pain (finding)")
THORACIC = cc(ICD, "M54.6", "Pain in thoracic spine")
BREAST = cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)")
PROSTATE = cc(SCT, "399068003", "Malignant tumor of prostate (disorder)")
NSCLC = cc(SCT, "254637007", "Non-small cell lung cancer (disorder)")
NIGHT_NOTE = "Pain is worse at night and wakes her from sleep."


def night(slug: str, days_ago: int = 2) -> Res:
    return symptom(slug, "rest", instant(days_ago), LBP_SCT, at_rest=True)


def bp(slug: str, onset_days: int, code: Res = LBP, **kw: Any) -> Res:
    return condition(slug, "bp", code, day(onset_days), **kw)


def weights(
    slug: str, first_kg: float, last_kg: float, first_days: int = 200, last_days: int = 5
) -> list[Res]:
    return [
        weight(slug, "w1", instant(first_days), first_kg),
        weight(slug, "w2", instant(last_days), last_kg),
    ]


def define() -> list[tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]]:
    """(name, rule, tier, story, resources, overrides) for every case; the slug is the first id prefix."""
    c: list[tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]] = []

    def add(
        name: str, tier: str | None, story: str, res: list[Res], overrides: dict[str, Any] | None = None
    ) -> None:
        c.append((name, name.split("--")[0], tier, story, res, overrides))

    s = "c1a"
    add(
        "C1--in--leg-weakness-with-breast-cancer",
        "C1",
        "Breast cancer in remission, back pain for 20 days and weakness of both legs (spinal paraparesis) recorded"
        " 3 days ago: emergency card with the MSCC content.",
        [
            patient(s, born_years_ago(68)),
            bp(s, 20),
            condition(s, "ca", BREAST, day(1100), clinical="remission"),
            condition(s, "neuro", cc(SCT, "23042008", "Spinal paraparesis (finding)"), day(3)),
        ],
    )
    s = "c1b"
    add(
        "C1--in--saddle-numbness-no-cancer",
        "C1",
        "Back pain for 10 days and saddle numbness reported yesterday as a symptom observation, no cancer.",
        [
            patient(s, born_years_ago(45), "male"),
            bp(s, 10, LBP_SCT),
            symptom(s, "saddle", instant(1), cc(SCT, "449813001", "Numbness of saddle area (finding)")),
        ],
    )
    s = "c1c"
    add(
        "C1--out--deficit-older-than-30-days",
        "C3",
        "Back pain for 60 days; difficulty walking recorded 45 days ago is a persisting deficit: C3, not C1.",
        [
            patient(s, born_years_ago(55), "male"),
            bp(s, 60),
            condition(
                s, "gait", cc(ICD, "R26.2", "Difficulty in walking, not elsewhere classified"), day(45)
            ),
        ],
    )
    s = "c2a"
    add(
        "C2--in--new-back-pain-after-breast-cancer",
        "C2",
        "Thoracic back pain for 20 days, two years after a breast cancer now in remission.",
        [
            patient(s, born_years_ago(58)),
            bp(s, 20, THORACIC),
            condition(s, "ca", BREAST, day(730), clinical="remission"),
        ],
    )
    s = "c2b"
    add(
        "C2--out--cancer-history-without-back-pain",
        None,
        "Prostate cancer and coded unexplained weight loss but no back pain: no card.",
        [
            patient(s, born_years_ago(70), "male"),
            condition(s, "ca", PROSTATE, day(400)),
            condition(s, "wl", cc(SCT, "422868009", "Unexplained weight loss (finding)"), day(10)),
        ],
    )
    s = "c2c"
    add(
        "C2--in--older-back-pain-with-night-pain-and-cancer",
        "C2",
        "Back pain that began before a prostate cancer, now with rest pain: a red flag makes it C2.",
        [
            patient(s, born_years_ago(71), "male"),
            bp(s, 300),
            condition(s, "ca", PROSTATE, day(200)),
            night(s),
        ],
    )
    s = "c3a"
    add(
        "C3--in--weight-loss-lumbar",
        "C3",
        "Low back pain for 80 days and 5.9 % weight loss over 195 days in a 62-year-old, no cancer.",
        [patient(s, born_years_ago(62), "male"), bp(s, 80), *weights(s, 85.0, 80.0)],
    )
    s = "c3b"
    add(
        "C3--out--acute-back-pain-few-days",
        None,
        "Low back pain for 3 days with no red flag: no card.",
        [patient(s, born_years_ago(40)), bp(s, 3, LBP_SCT)],
    )
    s = "c3c"
    add(
        "C3--out--under-18",
        None,
        "A 16-year-old with back pain and rest pain is outside the adult scope.",
        [patient(s, born_years_ago(16)), bp(s, 30), night(s)],
    )
    s = "c3d"
    add(
        "C3--in--pregnancy-lumbar-without-contrast",
        "C3",
        "Low back pain in pregnancy for 45 days with rest pain: lumbar MRI without contrast, no CT.",
        [
            patient(s, born_years_ago(31)),
            bp(s, 45, cc(SCT, "9121000119106", "Low back pain in pregnancy (finding)")),
            night(s),
        ],
    )
    s = "c4a"
    add(
        "C4--in--chronic-pain-predates-cancer",
        "C4",
        "Chronic low back pain for 4 years; prostate cancer diagnosed 1 year ago; no new flag.",
        [
            patient(s, born_years_ago(66), "male"),
            bp(s, 1460, CHRONIC_LBP),
            condition(s, "ca", PROSTATE, day(365)),
        ],
    )
    s = "c4b"
    add(
        "C4--out--resolved-back-pain-with-cancer",
        None,
        "Back pain resolved last month in a patient with breast cancer: no card.",
        [
            patient(s, born_years_ago(60)),
            bp(s, 120, clinical="resolved", abatement=day(30)),
            condition(s, "ca", BREAST, day(900)),
        ],
    )
    s = "c5a"
    add(
        "C5--in--persistent-pain-site-enabled",
        "C5",
        "Low back pain for 60 days, no red flags, at a site that switched C5 on.",
        [patient(s, born_years_ago(44)), bp(s, 60)],
        {"tiers": {"C1": True, "C1M": True, "C2": True, "C3": True, "C3R": True, "C4": True, "C5": True}},
    )
    s = "c5b"
    add(
        "C5--out--persistent-pain-default-off",
        None,
        "Low back pain for 60 days, no red flags, default configuration (C5 off): no card.",
        [patient(s, born_years_ago(44)), bp(s, 60)],
    )
    s = "f1a"
    add(
        "F1--in--undotted-who-icd-lumbago-with-sciatica",
        "C3R",
        "Lumbago with sciatica coded M5441 in the WHO ICD-10 system, with night pain in the note.",
        [
            patient(s, born_years_ago(39)),
            bp(s, 21, cc(ICD_WHO, "M5441", "Lumbago with sciatica, right side"), note=NIGHT_NOTE),
        ],
    )
    s = "f1b"
    add(
        "F1--out--sciatica-only",
        None,
        "Sciatica alone is not back pain, even with coded weight loss.",
        [
            patient(s, born_years_ago(52), "male"),
            condition(s, "sci", cc(ICD, "M54.31", "Sciatica, right side"), day(20)),
            condition(s, "wl", cc(ICD, "R63.4", "Abnormal weight loss"), day(10)),
        ],
    )
    s = "f1c"
    add(
        "F1--out--resolved-back-pain",
        None,
        "Back pain resolved 2 weeks ago, its note mentions night pain: no card.",
        [patient(s, born_years_ago(57)), bp(s, 90, clinical="resolved", abatement=day(14), note=NIGHT_NOTE)],
    )
    s = "f2a"
    add(
        "F2--in--seven-weeks-with-rest-pain",
        "C3",
        "Back pain for 49 days with structured rest pain: persistence is listed with the red flag.",
        [patient(s, born_years_ago(47)), bp(s, 49), night(s)],
    )
    s = "f2b"
    add(
        "F2--out--41-days-c5-enabled",
        None,
        "Back pain for 41 days is not yet persistent, even where C5 is on.",
        [patient(s, born_years_ago(47)), bp(s, 41)],
        {"tiers": {"C1": True, "C1M": True, "C2": True, "C3": True, "C3R": True, "C4": True, "C5": True}},
    )
    s = "f3a"
    add(
        "F3--in--z85-history-undotted",
        "C2",
        "Personal history of breast cancer coded Z853 (undotted) and back pain for 15 days.",
        [
            patient(s, born_years_ago(63)),
            bp(s, 15),
            condition(
                s,
                "hx",
                cc(ICD, "Z853", "Personal history of malignant neoplasm of breast"),
                None,
                clinical="resolved",
                recorded=day(2000),
            ),
        ],
    )
    s = "f3b"
    add(
        "F3--out--non-melanoma-skin-cancer-only",
        "C3",
        "Basal cell carcinoma of skin is not cancer history: rest pain gives C3, not C2.",
        [
            patient(s, born_years_ago(74), "male"),
            bp(s, 20),
            night(s),
            condition(s, "bcc", cc(ICD, "C44.91", "Basal cell carcinoma of skin, unspecified"), day(500)),
            condition(s, "bcc2", cc(SCT, "254701007", "Basal cell carcinoma of skin (disorder)"), day(500)),
        ],
    )
    s = "f3c"
    add(
        "F3--out--entered-in-error-cancer",
        None,
        "A lung cancer entered in error (no clinicalStatus) does not count: back pain 20 days, no card.",
        [
            patient(s, born_years_ago(61), "male"),
            bp(s, 20),
            condition(s, "ca", NSCLC, day(100), clinical=None, verification="entered-in-error"),
        ],
    )
    s = "f4a"
    add(
        "F11--in--radicular-pain-with-lung-cancer",
        "C1M",
        "Lumbar radiculopathy of 5 days in a patient with lung cancer counts as a neurological symptom.",
        [
            patient(s, born_years_ago(66), "male"),
            bp(s, 30),
            condition(s, "ca", NSCLC, day(400)),
            condition(s, "rad", cc(ICD, "M54.16", "Radiculopathy, lumbar region"), day(5)),
        ],
    )
    s = "f4b"
    add(
        "F4--out--radicular-pain-without-cancer",
        None,
        "Lumbar radiculopathy without a cancer history is usually benign: no card.",
        [
            patient(s, born_years_ago(41), "male"),
            bp(s, 20),
            condition(s, "rad", cc(ICD, "M54.16", "Radiculopathy, lumbar region"), day(5)),
        ],
    )
    s = "f5a"
    add(
        "F5--in--coded-unintentional-despite-diet",
        "C3",
        "Unintentional weight loss coded 10 days ago is trusted even with an active weight-management plan.",
        [
            patient(s, born_years_ago(55)),
            bp(s, 20),
            condition(s, "wl", cc(SCT, "448765001", "Unintentional weight loss (finding)"), day(10)),
            care_plan(
                s,
                "cp",
                day(150),
                cc(SCT, "718361005", "Weight management program (regime/therapy)"),
                [cc(SCT, "77806000", "Low calorie diet")],
            ),
        ],
    )
    s = "f5b"
    add(
        "F5--out--weight-gain",
        None,
        "Weight went up from 80 to 86 kg: no weight loss, no card.",
        [patient(s, born_years_ago(58)), bp(s, 20), *weights(s, 80.0, 86.0)],
    )
    s = "f5c"
    add(
        "F5--out--single-weight",
        None,
        "A single weight cannot show a loss: no card.",
        [patient(s, born_years_ago(58)), bp(s, 20), weight(s, "w1", instant(5), 70.0)],
    )
    s = "f5d"
    add(
        "F5--out--diet-programme",
        None,
        "A 6.7 % loss during a weight-management programme with a low-calorie diet.",
        [
            patient(s, born_years_ago(50)),
            bp(s, 20),
            *weights(s, 90.0, 84.0),
            care_plan(
                s,
                "cp",
                day(150),
                cc(SCT, "718361005", "Weight management program (regime/therapy)"),
                [cc(SCT, "77806000", "Low calorie diet")],
            ),
        ],
    )
    s = "f5e"
    add(
        "F5--out--bariatric-surgery",
        None,
        "A 16.7 % loss after a laparoscopic sleeve gastrectomy 190 days ago.",
        [
            patient(s, born_years_ago(46)),
            bp(s, 20),
            *weights(s, 120.0, 100.0),
            procedure(s, "sg", day(190), cc(SCT, "427074001", "Laparoscopic sleeve gastrectomy (procedure)")),
        ],
    )
    s = "f6a"
    add(
        "F6--in--free-text-night-pain",
        "C3R",
        "The back-pain Condition note says the pain wakes her at night.",
        [patient(s, born_years_ago(48)), bp(s, 15, note=NIGHT_NOTE)],
    )
    s = "f6b"
    add(
        "F6--out--night-text-before-episode",
        None,
        "A night-pain symptom note dated before the current back-pain episode does not count.",
        [
            patient(s, born_years_ago(48)),
            bp(s, 15),
            symptom(s, "old", instant(40), LBP_SCT, text="Back pain at night last month."),
        ],
    )
    s = "f7a"
    add(
        "F7--in--physiotherapy-six-weeks-ago",
        "C3",
        "Physiotherapy started 40 days ago and the back pain of 70 days is still active.",
        [
            patient(s, born_years_ago(53)),
            bp(s, 70),
            procedure(s, "pt", day(40), cc(SCT, "229064008", "Movement therapy (regime/therapy)")),
        ],
    )
    s = "f7b"
    add(
        "F7--out--synthea-like-years-old-chronic",
        None,
        "Chronic low back pain since 2020 with physiotherapy and opioids in 2021 (Synthea pattern): no card.",
        [
            patient(s, born_years_ago(59), "male"),
            bp(s, 2200, CHRONIC_LBP),
            condition(s, "cp", cc(SCT, "82423001", "Chronic pain (finding)"), day(2200)),
            care_plan(
                s,
                "plan",
                day(1800),
                cc(SCT, "276239002", "Therapy (regime/therapy)"),
                [cc(SCT, "91251008", "Physical therapy procedure (regime/therapy)")],
                status="completed",
            ),
            procedure(s, "pt", day(1790), cc(SCT, "229064008", "Movement therapy (regime/therapy)")),
            med(s, "ibu", day(1800), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]", status="stopped"),
            med(
                s,
                "opi",
                day(1700),
                "856987",
                "Acetaminophen 300 MG / Hydrocodone Bitartrate 5 MG Oral Tablet",
                status="stopped",
            ),
        ],
    )
    s = "f8a"
    add(
        "F8--in--opioid-after-nsaid",
        "C3R",
        "Ibuprofen 18 days ago, then tramadol 13 days later, back pain 20 days.",
        [
            patient(s, born_years_ago(44), "male"),
            bp(s, 20),
            med(s, "ibu", day(18), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
            med(s, "tram", day(5), "835603", "tramadol hydrochloride 50 MG Oral Tablet"),
        ],
    )
    s = "f8b"
    add(
        "F8--out--two-classes-same-week",
        None,
        "Ibuprofen and paracetamol started 3 days apart: not escalation.",
        [
            patient(s, born_years_ago(44), "male"),
            bp(s, 20),
            med(s, "ibu", day(10), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
            med(s, "apap", day(7), "209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]"),
        ],
    )
    s = "f9a"
    add(
        "F9--in--fiftieth-birthday-today",
        "C3",
        "Turns 50 today, back pain with rest pain: age is listed as a modifier.",
        [patient(s, born_years_ago(50)), bp(s, 20), night(s)],
    )
    s = "f9b"
    add(
        "F9--out--age-49",
        "C3R",
        "Turns 50 tomorrow, rest pain for 20 days is a single weak sign: red flag to review (C3R), no imaging.",
        [patient(s, born_years_ago(50, -1)), bp(s, 20), night(s)],
    )
    s = "f10a"
    add(
        "F10--in--mri-last-week-no-new-mri",
        "C3",
        "Weight loss red flag, but an MR spine report 6 days ago: no MRI or CT, referral kept.",
        [
            patient(s, born_years_ago(62), "male"),
            bp(s, 80),
            *weights(s, 85.0, 80.0),
            report(s, "mri", instant(6), cc(LOINC, "36400-0", "MR Spine WO and W contrast IV")),
        ],
    )
    s = "f10b"
    add(
        "F10--out--mri-before-episode",
        "C3",
        "An MRI 25 days ago pre-dates this 20-day back-pain episode: a new MRI is proposed.",
        [
            patient(s, born_years_ago(52)),
            bp(s, 20),
            night(s),
            service_request(
                s,
                "mri",
                day(25),
                cc(LOINC, "24967-2", "MR Lumbar spine WO and W contrast IV"),
                status="completed",
            ),
        ],
    )
    s = "f10c"
    add(
        "F10--in--c1-mri-within-24-hours",
        "C1",
        "New spinal paraparesis with back pain and a whole-spine MRI study started 3 hours ago: referral only.",
        [
            patient(s, born_years_ago(57), "male"),
            bp(s, 12),
            condition(s, "neuro", cc(SCT, "23042008", "Spinal paraparesis (finding)"), day(2)),
            imaging(
                s,
                "mri",
                instant(0.125),
                cc(LOINC, "30854-4", "MR Cervical and thoracic and lumbar spine WO contrast"),
            ),
        ],
    )
    return c


def topic_modules() -> list[Any]:
    return [importlib.import_module(p.stem) for p in sorted(Path(__file__).resolve().parent.glob("cases_*.py"))]


def all_cases() -> list[tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]]:
    """The cases above plus every ``scripts/cases_<topic>.py`` module's ``define()``, so topics grow apart."""
    cases = define()
    for module in topic_modules():
        cases.extend(module.define())
    names = [c[0] for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SystemExit(f"duplicate case names: {', '.join(duplicates)}")
    return cases


def main() -> int:
    shutil.rmtree(CASES, ignore_errors=True) if "--clean" in sys.argv else None
    cases = all_cases()
    for name, rule, tier, story, resources, overrides in cases:
        folder = CASES / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bundle.json").write_text(json.dumps(bundle(resources), indent=1) + "\n", encoding="utf-8")
        case: dict[str, Any] = {
            "asOf": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rule": rule,
            "expect": name.split("--")[1],
            "tier": tier,
            "story": story,
        }
        if overrides:
            case["overrides"] = overrides
        (folder / "case.json").write_text(json.dumps(case, indent=1) + "\n", encoding="utf-8")
    # Optional prefetch.json (fixtures/README.md): a topic module's ``prefetches()`` after its ``define()``.
    for module in topic_modules():
        for name, prefetch in getattr(module, "prefetches", dict)().items():
            (CASES / name / "prefetch.json").write_text(json.dumps(prefetch, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {CASES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
