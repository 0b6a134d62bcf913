"""Fixture cases of the order-select / order-sign services (issue 19): one per decision and both hooks.

Each case is an ordinary fixture patient (``define()``, same tuple shape as ``build_fixtures.define()``; its
``tier`` is what the chart card shows) plus a ``context.json`` from ``extra_files()``: the hook, the order
context (``draftOrders``, ``selections``) and the decision expected for each draft. Its golden file is the
order hook's answer. Codes: CPT codes only (no descriptors), as the CDS Hooks sandbox's PAMA screen sends them.
"""

from __future__ import annotations

from typing import Any

from fixture_kit import ICD, LOINC, SCT, Res, born_years_ago, cc, condition, day, instant, patient, symptom, weight

CPT = "http://www.ama-assn.org/go/cpt"
LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
BREAST = cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)")
PROSTATE = cc(SCT, "399068003", "Malignant tumor of prostate (disorder)")
LEG_PARESIS = cc(SCT, "16018391000119104", "Paresis of left lower limb (finding)")
SADDLE = cc(SCT, "449813001", "Numbness of saddle area (finding)")
BACKACHE = {"coding": [{"system": SCT, "code": "161891005"}]}
Case = tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]

_CONTEXTS: dict[str, dict[str, Any]] = {}


def draft(pid: str, rid: str, system: str, code: str, reason: Res | None = None) -> Res:
    """A draft ServiceRequest in the sandbox's PAMA shape: status draft, intent plan, one coding, a reason."""
    resource: Res = {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "draft",
        "intent": "plan",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
    }
    if reason is not None:
        resource["reasonCode"] = [reason]
    return resource


def order_context(
    hook: str, pid: str, drafts: list[Res], decisions: dict[str, str], selections: list[str] | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/example",
        "patientId": pid,
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": r} for r in drafts]},
    }
    if hook == "order-select":
        context["selections"] = selections if selections is not None else [f"ServiceRequest/{drafts[0]['id']}"]
    return {"hook": hook, "context": context, "decisions": decisions}


def define() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, tier: str | None, story: str, res: list[Res], ctx: dict[str, Any]) -> None:
        cases.append((name, name.split("--")[0], tier, story, res, None))
        _CONTEXTS[name] = ctx

    s = "o1a"
    pid = f"{s}-pat"
    add(
        "C1M--in--order-select-pama-ct-draft-gets-whole-spine-mri",
        "C1M",
        "PAMA screen: lumbar CT (CPT 72133) selected for back pain with left-leg weakness and breast cancer.",
        [
            patient(s, born_years_ago(66)),
            condition(s, "bp", LBP, day(18)),
            condition(s, "ca", BREAST, day(1200), clinical="remission"),
            condition(s, "neuro", LEG_PARESIS, day(2)),
        ],
        order_context(
            "order-select",
            pid,
            [draft(pid, "example-request-id", CPT, "72133", BACKACHE)],
            {"ServiceRequest/example-request-id": "red-flag-mismatch"},
        ),
    )
    s = "o2a"
    pid = f"{s}-pat"
    add(
        "C2--in--order-sign-lumbar-mri-needs-whole-spine",
        "C2",
        "Signing a lumbar MRI (LOINC) for new back pain two years after a prostate cancer: whole spine needed.",
        [
            patient(s, born_years_ago(71), "male"),
            condition(s, "bp", LBP, day(25)),
            condition(s, "ca", PROSTATE, day(760)),
        ],
        order_context(
            "order-sign",
            pid,
            [draft(pid, f"{s}-draft-mri", LOINC, "24967-2", BACKACHE)],
            {f"ServiceRequest/{s}-draft-mri": "red-flag-mismatch"},
        ),
    )
    s = "o3a"
    pid = f"{s}-pat"
    add(
        "C3--in--order-select-lumbar-mri-matches-red-flags",
        "C3",
        "Lumbar MRI without and with contrast (CPT 72158) selected for low back pain with 5.9 % weight loss.",
        [
            patient(s, born_years_ago(62), "male"),
            condition(s, "bp", LBP, day(80)),
            weight(s, "w1", instant(200), 85.0),
            weight(s, "w2", instant(5), 80.0),
        ],
        order_context(
            "order-select",
            pid,
            [draft(pid, f"{s}-draft-mri", CPT, "72158", BACKACHE)],
            {f"ServiceRequest/{s}-draft-mri": "red-flag-match"},
        ),
    )
    s = "o4a"
    pid = f"{s}-pat"
    add(
        "C3--out--order-select-early-mri-without-red-flags",
        None,
        "Lumbar MRI (CPT 72148) selected for low back pain of 10 days with no red flag recorded.",
        [patient(s, born_years_ago(38)), condition(s, "bp", LBP, day(10))],
        order_context(
            "order-select",
            pid,
            [draft(pid, f"{s}-draft-mri", CPT, "72148", BACKACHE)],
            {f"ServiceRequest/{s}-draft-mri": "early-without-red-flags"},
        ),
    )
    s = "o5a"
    pid = f"{s}-pat"
    add(
        "C3--out--order-sign-early-ct-without-red-flags",
        None,
        "Signing a lumbar CT (SNOMED) for low back pain of 3 weeks with no red flag recorded.",
        [patient(s, born_years_ago(44), "male"), condition(s, "bp", LBP, day(21))],
        order_context(
            "order-sign",
            pid,
            [draft(pid, f"{s}-draft-ct", SCT, "572091000119106", BACKACHE)],
            {f"ServiceRequest/{s}-draft-ct": "early-without-red-flags"},
        ),
    )
    s = "o6a"
    pid = f"{s}-pat"
    add(
        "C5--out--order-sign-mri-after-eight-weeks-no-criteria",
        None,
        "Signing a lumbar MRI for low back pain of 60 days without red flags: these criteria do not rate it.",
        [patient(s, born_years_ago(51)), condition(s, "bp", LBP, day(60))],
        order_context(
            "order-sign",
            pid,
            [draft(pid, f"{s}-draft-mri", CPT, "72148", BACKACHE)],
            {f"ServiceRequest/{s}-draft-mri": "no-criteria"},
        ),
    )
    s = "o7a"
    pid = f"{s}-pat"
    add(
        "C2--out--order-select-spine-ct-without-back-pain",
        None,
        "Thoracic CT (CPT 72128) selected for a patient with breast cancer and no back pain: no criteria apply.",
        [patient(s, born_years_ago(59)), condition(s, "ca", BREAST, day(300))],
        order_context(
            "order-select",
            pid,
            [draft(pid, f"{s}-draft-ct", CPT, "72128")],
            {f"ServiceRequest/{s}-draft-ct": "no-criteria"},
        ),
    )
    s = "o8a"
    pid = f"{s}-pat"
    lab = draft(pid, f"{s}-draft-fbc", SCT, "26604007")
    ct = draft(pid, f"{s}-draft-ct", CPT, "72131", BACKACHE)
    medication: Res = {
        "resourceType": "MedicationRequest",
        "id": f"{s}-draft-med",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "ibuprofen 400 mg tablets"},
        "subject": {"reference": f"Patient/{pid}"},
    }
    drafts = [ct, lab, medication]
    patient_o8 = [
        patient(s, born_years_ago(47), "male"),
        condition(s, "bp", LBP, day(9)),
        symptom(s, "saddle", instant(1), SADDLE),
    ]
    add(
        "C1--in--order-sign-rates-every-draft",
        "C1",
        "Signing a lumbar CT, a blood count and ibuprofen with new saddle numbness: the CT gets the MRI card.",
        patient_o8,
        order_context(
            "order-sign",
            pid,
            drafts,
            {f"ServiceRequest/{s}-draft-ct": "red-flag-mismatch", f"ServiceRequest/{s}-draft-fbc": "no-criteria"},
        ),
    )
    s = "o9a"
    pid = f"{s}-pat"
    add(
        "C1--in--order-select-rates-only-the-selection",
        "C1",
        "A blood count is selected while a lumbar CT waits unsigned, with saddle numbness: only the count is rated.",
        [
            patient(s, born_years_ago(47), "male"),
            condition(s, "bp", LBP, day(9)),
            symptom(s, "saddle", instant(1), SADDLE),
        ],
        order_context(
            "order-select",
            pid,
            [draft(pid, f"{s}-draft-ct", CPT, "72131", BACKACHE), draft(pid, f"{s}-draft-fbc", SCT, "26604007")],
            {f"ServiceRequest/{s}-draft-fbc": "no-criteria"},
            selections=[f"ServiceRequest/{s}-draft-fbc"],
        ),
    )
    return cases


def extra_files() -> dict[str, dict[str, Any]]:
    """``{case name: {file name: JSON content}}`` written next to each case's bundle.json."""
    if not _CONTEXTS:
        define()
    return {name: {"context.json": ctx} for name, ctx in _CONTEXTS.items()}
