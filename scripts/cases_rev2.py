"""Fixture cases for clinical revision 2 (CLINICAL_RULES.md items 22-28, 29 a/c, 31, 32, 34-36; issue 12).

Each case sits on one side of a boundary the revision sets: T + 4 h vs 24 h, 30/31 days, age 49/50, 41/42 days,
one vs two weak signs, pending vs performed MRI, lumbar vs whole-spine MRI. T = 2026-03-15T10:00Z.
"""

from __future__ import annotations

from typing import Any

from fixture_kit import (
    ICD,
    LOINC,
    SCT,
    Res,
    born_years_ago,
    cc,
    condition,
    day,
    imaging,
    instant,
    med,
    patient,
    report,
    service_request,
    symptom,
    weight,
)

Case = tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]

LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
LBP_SCT = cc(SCT, "279039007", "Low back pain (finding)")
CHRONIC_LBP = cc(SCT, "278860009", "Chronic low back pain (finding)")
THORACIC = cc(ICD, "M54.6", "Pain in thoracic spine")
NECK = cc(ICD, "M54.2", "Cervicalgia")
PREGNANCY_LBP = cc(SCT, "9121000119106", "Low back pain in pregnancy (finding)")
BREAST = cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)")
PROSTATE = cc(SCT, "399068003", "Malignant tumor of prostate (disorder)")
NSCLC = cc(SCT, "254637007", "Non-small cell lung cancer (disorder)")
BONE_METS = cc(ICD, "C79.51", "Secondary malignant neoplasm of bone")
MYELOMA = cc(ICD, "C90.00", "Multiple myeloma not having achieved remission")
SADDLE = cc(SCT, "449813001", "Numbness of saddle area (finding)")
RETENTION = cc(SCT, "236648008", "Acute retention of urine (disorder)")
CORD = cc(ICD, "G95.20", "Unspecified cord compression")
PARAESTHESIA = cc(ICD, "R20.2", "Paresthesia of skin")
NUMB_LEG = cc(SCT, "309537005", "Numbness of lower limb")
LEFT_PARESIS = cc(SCT, "16018391000119104", "Paresis of left lower limb (finding)")
MRI_LUMBAR = cc(LOINC, "30679-5", "MR Lumbar spine WO contrast")
MRI_WHOLE = cc(LOINC, "30854-4", "MR Cervical and thoracic and lumbar spine WO contrast")
MRI_WHOLE_WWO = cc(LOINC, "30855-1", "MR Cervical and thoracic and lumbar spine WO and W contrast IV")
IBU = ("206905", "Ibuprofen 400 MG Oral Tablet [Ibu]")
APAP = ("209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]")
GABA = ("310431", "gabapentin 300 MG Oral Capsule")
CYCLO = ("21949", "cyclobenzaprine")
TRAMADOL = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")


def bp(slug: str, onset_days: int, code: Res = LBP, **kw: Any) -> Res:
    return condition(slug, "bp", code, day(onset_days), **kw)


def rest(slug: str, days_ago: float = 2) -> Res:
    return symptom(slug, "rest", instant(days_ago), LBP_SCT, at_rest=True)


def weights(slug: str, series: list[tuple[int, float]]) -> list[Res]:
    return [weight(slug, f"w{i}", instant(d), kg) for i, (d, kg) in enumerate(series, 1)]


def define() -> list[Case]:
    c: list[Case] = []

    def add(name: str, tier: str | None, story: str, res: list[Res]) -> None:
        c.append((name, name.split("--")[0], tier, story, res, None))

    # Item 22: emergency neurology (C1), any age, with or without cancer; lumbosacral vs whole spine.
    s = "r2a"
    add("C1--in--acute-retention-age-24-lumbosacral-4h", "C1",
        "A 24-year-old with low back pain for 6 days and acute urinary retention yesterday: lumbosacral MRI within"
        " 4 hours, emergency referral, CT myelogram as a non-recommended alternative.",
        [patient(s, born_years_ago(24), "male"), bp(s, 6), condition(s, "ret", RETENTION, day(1))])
    s = "r2b"
    add("C1--in--cord-compression-whole-spine", "C1",
        "Coded cord compression 2 days ago with low back pain, no cancer: the emergency MRI covers the whole spine.",
        [patient(s, born_years_ago(45)), bp(s, 14), condition(s, "cord", CORD, day(2))])
    s = "r2c"
    add("C1--in--saddle-numbness-with-prostate-cancer-mscc", "C1",
        "Saddle numbness with a prostate cancer: the 4-hour whole-spine MRI stays and the MSCC content is added.",
        [patient(s, born_years_ago(72), "male"), bp(s, 9), condition(s, "ca", PROSTATE, day(500)),
         condition(s, "sad", SADDLE, day(1))])
    s = "r2d"
    add("C1--in--saddle-numbness-thoracic-pain-whole-spine", "C1",
        "Saddle numbness with thoracic back pain and no cancer: whole-spine MRI, not lumbosacral.",
        [patient(s, born_years_ago(50)), bp(s, 9, THORACIC), condition(s, "sad", SADDLE, day(1))])
    s = "r2e0"
    add("C1--out--chronic-urinary-retention-is-not-an-emergency-sign", None,
        "Chronic retention of urine (236650000) recorded 3 days ago with back pain for 10 days: not an acute red"
        " flag, no card.",
        [patient(s, born_years_ago(70), "male"), bp(s, 10),
         condition(s, "ret", cc(SCT, "236650000", "Chronic retention of urine (disorder)"), day(3))])
    s = "r2e"
    add("F4--in--retention-30-days", "C1",
        "Acute urinary retention first recorded 30 days ago is still recent: emergency card.",
        [patient(s, born_years_ago(61), "male"), bp(s, 40), condition(s, "ret", RETENTION, day(30))])
    s = "r2f"
    add("F12--in--retention-31-days-persisting", "C3",
        "Acute urinary retention first recorded 31 days ago is a persisting deficit: strong C3 sign, never C1.",
        [patient(s, born_years_ago(61), "male"), bp(s, 40), condition(s, "ret", RETENTION, day(31))])
    s = "r2g"
    add("F10--in--c1-lumbar-mri-3-hours-ago-covers-cauda-equina", "C1",
        "Saddle numbness with low back pain; a lumbar MRI study done 3 hours ago covers the lumbosacral spine:"
        " no new MRI, the emergency referral stays.",
        [patient(s, born_years_ago(38)), bp(s, 5), condition(s, "sad", SADDLE, day(0)),
         imaging(s, "mri", instant(0.125), MRI_LUMBAR)])
    s = "r2h"
    add("C1--in--lumbar-mri-does-not-cover-cord", "C1",
        "Cord compression needs the whole spine: a lumbar MRI done 3 hours ago keeps the whole-spine suggestion and"
        " the card says which region was covered.",
        [patient(s, born_years_ago(38)), bp(s, 5), condition(s, "cord", CORD, day(0)),
         imaging(s, "mri", instant(0.125), MRI_LUMBAR)])
    s = "r2i"
    add("C1--in--pending-mri-order-keeps-suggestion", "C1",
        "Saddle numbness and a lumbar MRI ordered 2 hours ago but not done: the MRI suggestion stays with a"
        " reminder to cover the lumbosacral spine within 4 hours.",
        [patient(s, born_years_ago(44), "male"), bp(s, 5), condition(s, "sad", SADDLE, day(0)),
         service_request(s, "mri", instant(0.083), MRI_LUMBAR)])

    # Item 22/23: MSCC (C1M) needs a cancer history; without one a neurological symptom is a strong C3 sign.
    s = "r2j0"
    add("C1M--in--left-leg-weakness-with-breast-cancer", "C1M",
        "Breast cancer in remission, back pain for 20 days and left-leg weakness 3 days ago: MSCC (the first"
        " release C1), whole-spine MRI within 24 hours.",
        [patient(s, born_years_ago(68)), bp(s, 20), condition(s, "ca", BREAST, day(1100), clinical="remission"),
         condition(s, "neuro", LEFT_PARESIS, day(3))])
    s = "r2j"
    add("C1M--in--paraesthesia-with-lung-cancer-24h", "C1M",
        "Paraesthesia 4 days ago, back pain for 12 days and a lung cancer: MSCC, whole-spine MRI within 24 hours.",
        [patient(s, born_years_ago(64), "male"), bp(s, 12), condition(s, "ca", NSCLC, day(300)),
         condition(s, "par", PARAESTHESIA, day(4))])
    s = "r2k"
    add("C1M--out--paraesthesia-without-cancer-strong-c3", "C3",
        "Paraesthesia 4 days ago with back pain for 12 days in a 33-year-old without cancer: strong C3 sign.",
        [patient(s, born_years_ago(33)), bp(s, 12), condition(s, "par", PARAESTHESIA, day(4))])
    s = "r2l"
    add("F10--in--c1m-whole-spine-report-today", "C1M",
        "Leg numbness with breast cancer and a whole-spine MRI report 10 hours ago: no new MRI or CT.",
        [patient(s, born_years_ago(59)), bp(s, 10), condition(s, "ca", BREAST, day(900)),
         condition(s, "numb", NUMB_LEG, day(2)), report(s, "mri", instant(0.42), MRI_WHOLE)])
    s = "r2m"
    add("F11--in--leg-numbness-age-29-strong-sign", "C3",
        "A 29-year-old with leg numbness 3 days ago and back pain for 8 days: a neurological symptom is a strong"
        " C3 sign even when young and acute.",
        [patient(s, born_years_ago(29)), bp(s, 8), condition(s, "numb", NUMB_LEG, day(3))])
    s = "r2n"
    add("F11--out--numbness-31-days-is-persisting", "C3",
        "Leg numbness first recorded 31 days ago is no longer recent (F11) but a persisting deficit (F12): C3.",
        [patient(s, born_years_ago(29)), bp(s, 60), condition(s, "numb", NUMB_LEG, day(31))])
    s = "r2o"
    add("F12--out--deficit-366-days-ago", None,
        "Left-leg paresis first recorded 366 days ago is outside the 365-day window: no card.",
        [patient(s, born_years_ago(47)), bp(s, 400), condition(s, "par", LEFT_PARESIS, day(366))])

    # Item 24: high-risk cancer gives C2 whatever the dates; thoracic and neck pain with cancer give C2, not C4.
    s = "r2p"
    add("C2--in--bone-metastases-pain-predates-cancer", "C2",
        "Chronic low back pain for 4 years and bone metastases coded a year ago: C2 whatever the dates.",
        [patient(s, born_years_ago(67), "male"), bp(s, 1460, CHRONIC_LBP), condition(s, "met", BONE_METS, day(365))])
    s = "r2q"
    add("C2--in--myeloma-pain-predates-cancer", "C2",
        "Low back pain for 2 years and multiple myeloma diagnosed 6 months ago: C2 whatever the dates.",
        [patient(s, born_years_ago(66)), bp(s, 730), condition(s, "mm", MYELOMA, day(180))])
    s = "r2r"
    add("C2--in--thoracic-pain-predates-breast-cancer", "C2",
        "Thoracic back pain for 3 years and a breast cancer diagnosed a year ago: C2 rather than C4.",
        [patient(s, born_years_ago(62)), bp(s, 1095, THORACIC), condition(s, "ca", BREAST, day(365))])
    s = "r2s"
    add("C2--in--neck-pain-with-prostate-cancer", "C2",
        "Neck pain (M54.2) for 2 years in a man with a prostate cancer diagnosed a year ago: spinal pain, C2.",
        [patient(s, born_years_ago(70), "male"), bp(s, 730, NECK), condition(s, "ca", PROSTATE, day(365))])
    s = "r2t"
    add("F1--out--neck-pain-without-cancer", None,
        "Neck pain with rest pain and no cancer history is not back pain: no card.",
        [patient(s, born_years_ago(55)), bp(s, 30, NECK), rest(s)])
    s = "r2u"
    add("C4--in--lumbar-pain-predates-prostate-cancer", "C4",
        "Low back pain for 3 years before a prostate cancer diagnosed a year ago, no other flag: C4 still.",
        [patient(s, born_years_ago(69), "male"), bp(s, 1095), condition(s, "ca", PROSTATE, day(365))])

    # Item 26: performed MRI covering the whole spine (C2) suppresses; partial region or pending order does not.
    s = "r2v"
    add("F10--in--c2-whole-spine-mri-10-days-ago", "C2",
        "New back pain after breast cancer; a whole-spine MRI study 10 days ago: no MRI or CT, referral kept.",
        [patient(s, born_years_ago(57)), bp(s, 20), condition(s, "ca", BREAST, day(800)),
         imaging(s, "mri", instant(10), MRI_WHOLE_WWO)])
    s = "r2w"
    add("C2--in--lumbar-mri-only-partial", "C2",
        "New back pain after breast cancer; a lumbar MRI report 5 days ago covers one region: the whole-spine MRI"
        " is still proposed and the card says what was covered.",
        [patient(s, born_years_ago(57)), bp(s, 20), condition(s, "ca", BREAST, day(800)),
         report(s, "mri", instant(5), MRI_LUMBAR)])
    s = "r2x"
    add("C2--in--pending-whole-spine-order", "C2",
        "New back pain after breast cancer; a whole-spine MRI ordered 3 days ago, not done: the suggestion stays"
        " with a reminder to have it done within 7 days.",
        [patient(s, born_years_ago(57)), bp(s, 20), condition(s, "ca", BREAST, day(800)),
         service_request(s, "mri", instant(3), MRI_WHOLE_WWO)])

    # Item 27: C3 needs a strong sign or two weak ones, or one weak sign with age >= 50 or >= 42 days.
    s = "r2y"
    add("C3R--in--night-pain-age-40-day-20", "C3R",
        "A 40-year-old with back pain for 20 days and rest pain only: red flag to review, blood tests, no imaging.",
        [patient(s, born_years_ago(40)), bp(s, 20), rest(s)])
    s = "r2z"
    add("C3R--out--two-weak-signs-give-c3", "C3",
        "A 40-year-old with back pain for 30 days, rest pain and an opioid after an NSAID: two weak signs, C3.",
        [patient(s, born_years_ago(40), "male"), bp(s, 30), rest(s),
         med(s, "ibu", day(25), *IBU), med(s, "tram", day(10), *TRAMADOL)])
    s = "r2aa"
    add("C3R--in--one-weak-sign-41-days", "C3R",
        "A 40-year-old with back pain for 41 days and rest pain: not yet persistent, C3R.",
        [patient(s, born_years_ago(40)), bp(s, 41), rest(s)])
    s = "r2ab"
    add("C3--in--one-weak-sign-42-days", "C3",
        "A 40-year-old with back pain for 42 days and rest pain: persistence makes one weak sign enough for C3.",
        [patient(s, born_years_ago(40)), bp(s, 42), rest(s)])
    s = "r2ac"
    add("C3R--out--no-red-flag-no-card", None,
        "A 40-year-old with back pain for 20 days and no red flag: no card.",
        [patient(s, born_years_ago(40)), bp(s, 20)])

    # Item 28: blood tests; PSA for men >= 50, SPEP and free light chains at >= 60.
    s = "r2ad"
    add("C3--in--blood-tests-psa-man-50", "C3",
        "A man of 50 with 6 % weight loss: the blood tests include PSA.",
        [patient(s, born_years_ago(50), "male"), bp(s, 30), *weights(s, [(200, 85.0), (5, 79.9)])])
    s = "r2ae"
    add("C3--in--blood-tests-no-psa-man-49", "C3",
        "A man who turns 50 tomorrow with 6 % weight loss: no PSA yet.",
        [patient(s, born_years_ago(50, -1), "male"), bp(s, 30), *weights(s, [(200, 85.0), (5, 79.9)])])
    s = "r2af"
    add("C3--in--blood-tests-myeloma-age-60", "C3",
        "A woman of 60 with 6 % weight loss: the blood tests add serum protein electrophoresis and free light chains.",
        [patient(s, born_years_ago(60)), bp(s, 30), *weights(s, [(200, 70.0), (5, 65.8)])])
    s = "r2ag"
    add("C3--in--blood-tests-age-59-no-myeloma-tests", "C3",
        "A woman who turns 60 tomorrow with 6 % weight loss: no myeloma tests yet.",
        [patient(s, born_years_ago(60, -1)), bp(s, 30), *weights(s, [(200, 70.0), (5, 65.8)])])

    # Item 31: median baseline; pregnancy explains a loss.
    s = "r2ah"
    add("F5--in--median-baseline", "C3",
        "Weights 84, 85 and 86 kg 2-10 months ago (median 85) and 80 kg now: 5.9 % loss.",
        [patient(s, born_years_ago(58), "male"), bp(s, 30),
         *weights(s, [(300, 84.0), (200, 86.0), (100, 85.0), (5, 80.0)])])
    s = "r2ai"
    add("F5--out--one-high-weight-is-not-the-baseline", None,
        "One 95 kg weight among 88-89 kg readings: the median (89 kg) against 86 kg now is a 3.4 % loss.",
        [patient(s, born_years_ago(45), "male"), bp(s, 30),
         *weights(s, [(300, 88.0), (200, 95.0), (100, 89.0), (5, 86.0)])])
    s = "r2aj"
    add("F5--out--post-partum-weight-loss", None,
        "Low back pain of pregnancy coded 13 months ago and an 8 % loss since: explained by the pregnancy.",
        [patient(s, born_years_ago(30)), bp(s, 396, PREGNANCY_LBP),
         *weights(s, [(200, 76.0), (5, 70.0)])])

    # Item 32: medication resistance.
    s = "r2ak"
    add("F8--out--nsaid-to-paracetamol-switch", None,
        "Ibuprofen, then paracetamol 14 days later, in a 40-year-old: a switch, not escalation; no card.",
        [patient(s, born_years_ago(40)), bp(s, 30), med(s, "ibu", day(25), *IBU), med(s, "apap", day(11), *APAP)])
    s = "r2al"
    add("F8--out--neuropathic-agent-added", None,
        "Ibuprofen, then gabapentin 14 days later: adding a neuropathic agent to one class is not escalation.",
        [patient(s, born_years_ago(40)), bp(s, 30), med(s, "ibu", day(25), *IBU), med(s, "gaba", day(11), *GABA)])
    s = "r2am"
    add("F8--in--third-analgesic-class", "C3R",
        "Ibuprofen, paracetamol 5 days later and cyclobenzaprine 12 days after the first: a third class.",
        [patient(s, born_years_ago(40)), bp(s, 30), med(s, "ibu", day(25), *IBU),
         med(s, "apap", day(20), *APAP), med(s, "cyc", day(13), *CYCLO)])

    # Item 34: a pregnancy code counts only with an onset at most 10 months before T.
    s = "r2an"
    add("C3--in--pregnancy-code-11-months-old-contrast-allowed", "C3",
        "Low back pain of pregnancy coded 11 months ago with coded unexplained weight loss: no longer pregnant,"
        " MRI with and without contrast and CT are proposed.",
        [patient(s, born_years_ago(33)), bp(s, 335, PREGNANCY_LBP),
         condition(s, "wl", cc(SCT, "422868009", "Unexplained weight loss (finding)"), day(10))])

    # Item 35: a history code dated only by recordedDate, and undated back pain, are new since cancer.
    s = "r2ao"
    hx = condition(s, "hx", cc(ICD, "Z85.3", "Personal history of malignant neoplasm of breast"), None,
                   clinical="resolved", recorded=day(10))
    add("C2--in--history-code-recorded-after-old-back-pain", "C2",
        "Back pain for 200 days and a breast-cancer history code recorded 10 days ago: the cancer precedes the"
        " record, so the pain counts as new since cancer.",
        [patient(s, born_years_ago(64)), bp(s, 200), hx])
    s = "r2ap"
    undated = bp(s, 0)
    del undated["onsetDateTime"], undated["recordedDate"]
    add("C2--in--undated-back-pain-with-cancer", "C2",
        "Back pain with no date at all and a lung cancer a year ago: treated as new since cancer.",
        [patient(s, born_years_ago(66), "male"), undated, condition(s, "ca", NSCLC, day(365))])

    # Item 29 (a, c): SNOMED history codes from the shared list; generic skin malignancy is NMSC.
    s = "r2aq"
    add("F3--in--snomed-history-of-prostate-cancer", "C2",
        "SNOMED 428262008 History of malignant neoplasm of prostate and back pain for 20 days.",
        [patient(s, born_years_ago(71), "male"), bp(s, 20),
         condition(s, "hx", cc(SCT, "428262008", "History of malignant neoplasm of prostate"), day(900))])
    s = "r2ar"
    add("F3--out--family-history-of-cancer", "C3",
        "Family history of cancer (275937001) is not cancer history: rest pain at 62 gives C3, not C2.",
        [patient(s, born_years_ago(62)), bp(s, 20), rest(s),
         condition(s, "fh", cc(SCT, "275937001", "Family history of cancer"), day(900))])
    s = "r2as"
    add("F3--out--generic-skin-malignancy-is-nmsc", "C3",
        "SNOMED 372130007 Malignant neoplasm of skin names no melanoma: non-melanoma skin cancer, so C3, not C2.",
        [patient(s, born_years_ago(62)), bp(s, 20), rest(s),
         condition(s, "skin", cc(SCT, "372130007", "Malignant neoplasm of skin (disorder)"), day(900))])
    return c
