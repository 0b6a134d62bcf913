"""Cases in the shapes real EHRs send (issue 11): Epic-, Meditech- and Oracle Health-like prefetches,
medications by reference, another patient's data in the prefetch, ICD-10-CM by OID and pounds without UCUM.

Written by hand from the public shapes named in /work/notes/issue-11.md (no data copied): what matters is
the structure (``search.mode`` entries, informational OperationOutcomes, ``medicationReference`` with
``display``, included Medications with absolute ``fullUrl``, year-only dates, weights in grams, IMO codings
beside SNOMED CT). Codes are the verified ones the other cases use; the IMO codes are placeholders
(``fixture-*``) because only the coding's shape matters and no rule reads that system.

``define()`` gives the cases (bundle.json: what the EHR's FHIR server holds); ``prefetches()`` gives, for
some of them, the prefetch the EHR sends (prefetch.json), which the harness uses instead of building one.
"""

from __future__ import annotations

import copy
from typing import Any

from fixture_kit import (
    ICD,
    RX,
    SCT,
    Res,
    born_years_ago,
    cc,
    condition,
    day,
    instant,
    med,
    patient,
    weight,
)

Case = tuple[str, str, str | None, str, list[Res], dict[str, Any] | None]
ICD_OID = "urn:oid:2.16.840.1.113883.6.90"
IMO = "urn:oid:2.16.840.1.113883.3.247.1.1"
UCUM = "http://unitsofmeasure.org"
KEYS = {
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Procedure": "procedures",
    "ServiceRequest": "serviceRequests",
    "DiagnosticReport": "diagnosticReports",
    "CarePlan": "carePlans",
    "ImagingStudy": "imagingStudies",
}
LBP = cc(ICD, "M54.50", "Low back pain, unspecified")
LBP_SCT = cc(SCT, "279039007", "Low back pain (finding)")
BREAST = cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)")
PARESIS = cc(SCT, "102568007", "Paresis of lower extremity (finding)")


def two_codings(first: Res, second: Res, text: str) -> Res:
    """One concept coded twice (SNOMED CT and IMO, as problem lists send them) with the user's text."""
    return {"coding": [*first["coding"], *second["coding"]], "text": text}


def medication(slug: str, n: str, rxcui: str, display: str) -> Res:
    return {"resourceType": "Medication", "id": f"{slug}-{n}", "code": {**cc(RX, rxcui, display), "text": display}}


def med_by_reference(slug: str, n: str, when: str, target: str, display: str, kind: str = "MedicationRequest") -> Res:
    """A MedicationRequest (or MedicationStatement) naming its drug only by ``medicationReference``."""
    r = med(slug, n, when, "0", display)
    del r["medicationCodeableConcept"]
    r["medicationReference"] = {"reference": target, "display": display}
    if kind == "MedicationStatement":
        del r["intent"], r["authoredOn"]
        r["resourceType"] = kind
        r["effectiveDateTime"] = when
    return r


def grams(slug: str, n: str, when: str, g: float) -> Res:
    r = weight(slug, n, when, g)
    r["valueQuantity"] = {"value": g, "unit": "g", "system": UCUM, "code": "g"}
    return r


def outcome(severity: str, text: str) -> Res:
    """An OperationOutcome entry as servers put it into a searchset (``search.mode: outcome``)."""
    return {
        "fullUrl": "urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201",
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": "informational", "details": {"text": text}}],
        },
        "search": {"mode": "outcome"},
    }


def vendor_prefetch(
    base: str,
    resources: list[Res],
    *,
    empty_outcome: str | None = None,
    extra: dict[str, list[Res]] | None = None,
    include: dict[str, list[Res]] | None = None,
) -> dict[str, Any]:
    """Every template key as a searchset with absolute fullUrls; ``empty_outcome`` fills empty results
    with an informational OperationOutcome (Epic), ``extra`` appends entries, ``include`` adds Medications."""
    out: dict[str, Any] = {"patient": next(r for r in resources if r["resourceType"] == "Patient")}
    entries: dict[str, list[Res]] = {key: [] for key in KEYS.values()}
    for r in resources:
        key = KEYS.get(r["resourceType"])
        if key is not None:
            entries[key].append(
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            )
    for key, items in (include or {}).items():
        entries[key] += [
            {"fullUrl": f"{base}/Medication/{m['id']}", "resource": m, "search": {"mode": "include"}} for m in items
        ]
    for key, items in (extra or {}).items():
        entries[key] += items
    for key, items in entries.items():
        if not items and empty_outcome:
            items.append(outcome("information", empty_outcome))
        total = sum(e.get("search", {}).get("mode") == "match" for e in items)
        out[key] = {"resourceType": "Bundle", "type": "searchset", "total": total, "entry": items}
    return out


_PREFETCH: dict[str, dict[str, Any]] = {}


def prefetches() -> dict[str, dict[str, Any]]:
    """Case name -> the prefetch.json the EHR sends for it."""
    if not _PREFETCH:
        define()
    return _PREFETCH


def define() -> list[Case]:
    c: list[Case] = []

    def add(name: str, tier: str | None, story: str, res: list[Res], prefetch: dict[str, Any] | None = None) -> None:
        c.append((name, name.split("--")[0], tier, story, res, None))
        if prefetch is not None:
            _PREFETCH[name] = prefetch

    # Epic-like: medicationReference everywhere, Medications included, informational outcomes in searchsets.
    s = "epic1"
    ibu, tram = (
        medication(s, "m-ibu", "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
        medication(s, "m-tram", "835603", "tramadol hydrochloride 50 MG Oral Tablet"),
    )
    res = [
        patient(s, born_years_ago(47), "male"),
        condition(s, "bp", two_codings(LBP, cc(IMO, "fixture-lbp", "Low back pain"), "Low back pain"), day(24)),
        med_by_reference(s, "mr1", day(21), f"Medication/{s}-m-ibu", "ibuprofen 400 mg tablet"),
        med_by_reference(s, "mr2", day(6), f"Medication/{s}-m-tram", "tramadol 50 mg tablet"),
        ibu,
        tram,
    ]
    add(
        "F8--in--epic-medication-references-and-outcome-entries",
        "C3R",
        "Epic-like prefetch: ibuprofen then tramadol 15 days later, both by medicationReference with the "
        "Medications included; every searchset carries an informational or warning OperationOutcome.",
        res,
        vendor_prefetch(
            "https://ehr.example.org/api/FHIR/R4",
            res,
            empty_outcome="No resources of this type were found for the patient.",
            include={"medicationRequests": [ibu, tram]},
            extra={
                "conditions": [outcome("warning", "Some problem list entries are restricted and not shown.")],
                "medicationRequests": [outcome("information", "Orders older than the search window are omitted.")],
            },
        ),
    )

    # Meditech-like: weights in grams, year-only dates (birth date, an old episode's onset and abatement), the
    # drug as a contained Medication. Partial dates are not moved by load-fixtures' date shift, so they are
    # put where the shift cannot change a flag.
    s = "medi1"
    paracetamol = med_by_reference(s, "mr1", day(60), "#apap", "Acetaminophen 325 MG Oral Tablet")
    paracetamol["contained"] = [
        {
            "resourceType": "Medication",
            "id": "apap",
            "code": cc(RX, "209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]"),
        }
    ]
    res = [
        {**patient(s, born_years_ago(58)), "birthDate": "1968"},
        condition(s, "bp", LBP, day(73), recorded=day(70)),
        condition(s, "bp-old", LBP, "2019", clinical="resolved", abatement="2020", recorded="2019"),
        grams(s, "w1", instant(200), 90000),
        grams(s, "w2", instant(5), 84500),
        paracetamol,
    ]
    add(
        "F5--in--meditech-grams-year-only-dates-contained-medication",
        "C3",
        "Meditech-like: weights of 90000 g and 84500 g (6.1 % loss), back pain for 73 days after an episode "
        "of 2019-2020 given by years only, birth year only, paracetamol as a contained Medication.",
        res,
        vendor_prefetch("https://ehr.example.org/v1/fhir", res),
    )

    # Oracle Health-like: problem list with recordedDate only, SNOMED CT + IMO codings.
    s = "orcl1"
    bp = condition(s, "bp", two_codings(LBP_SCT, cc(IMO, "fixture-lbp", "Back pain, low"), "Low back pain"), None)
    ca = condition(s, "ca", two_codings(BREAST, cc(IMO, "fixture-breast", "Breast cancer"), "Breast cancer"), None)
    bp["recordedDate"], ca["recordedDate"] = instant(18), instant(420)
    res = [patient(s, born_years_ago(61)), bp, ca]
    add(
        "C2--in--oracle-problem-list-recorded-date-only",
        "C2",
        "Oracle Health-like problem list: no onset, only recordedDate (back pain 18 days, breast cancer 420 "
        "days ago), each coded in SNOMED CT and IMO.",
        res,
        vendor_prefetch("https://ehr.example.org/r4/tenant", res),
    )

    # Another patient's data in the prefetch: never used.
    s = "wrong1"
    mine = [patient(s, born_years_ago(55)), condition(s, "bp", LBP, day(20))]
    theirs = [
        condition("wrong1x", "neuro", PARESIS, day(2)),
        condition("wrong1x", "ca", BREAST, day(300)),
        condition("wrong1x", "neuro2", cc(SCT, "449813001", "Numbness of saddle area (finding)"), day(1)),
        weight("wrong1x", "w1", instant(200), 90.0),
        weight("wrong1x", "w2", instant(3), 80.0),
        med("wrong1x", "ibu", day(18), "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
        med("wrong1x", "tram", day(5), "835603", "tramadol hydrochloride 50 MG Oral Tablet"),
    ]
    theirs[1]["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/wrong1x-pat/_history/2"}
    theirs[2]["subject"] = {"identifier": {"system": "urn:oid:1.2.3.4", "value": "MRN-0001"}}
    theirs[3]["subject"] = {"reference": "urn:uuid:7a1e0c52-5d7c-4a43-9d27-0a3c1f000001"}
    other_patient = patient("wrong1x", born_years_ago(70))
    prefetch = vendor_prefetch("https://ehr.example.org/fhir", [*mine, *theirs])
    prefetch["conditions"]["entry"].append(
        {
            "fullUrl": "urn:uuid:7a1e0c52-5d7c-4a43-9d27-0a3c1f000001",
            "resource": other_patient,
            "search": {"mode": "include"},
        }
    )
    add(
        "C1--out--another-patients-deficit-in-the-prefetch",
        None,
        "A mis-keyed prefetch carries another patient's leg paresis, saddle numbness, breast cancer, weight "
        "loss and analgesics; the chart's patient only has 20 days of back pain: no card.",
        mine,
        prefetch,
    )

    # The patient named in every accepted form: absolute URL, versioned, urn:uuid resolved by the Bundle.
    s = "ident1"
    res = [
        patient(s, born_years_ago(52), "male"),
        condition(s, "bp", LBP, day(9)),
        condition(s, "neuro", PARESIS, day(2)),
        condition(s, "ca", BREAST, day(700)),
    ]
    prefetch = vendor_prefetch("https://ehr.example.org/fhir", res)
    sent = prefetch["conditions"]["entry"]
    sent[0]["resource"] = {
        **copy.deepcopy(res[1]),
        "subject": {"reference": f"https://ehr.example.org/fhir/Patient/{s}-pat"},
    }
    sent[1]["resource"] = {**copy.deepcopy(res[2]), "subject": {"reference": f"Patient/{s}-pat/_history/4"}}
    sent[2]["resource"] = {
        **copy.deepcopy(res[3]),
        "subject": {"reference": "urn:uuid:3b8f2a10-9c1d-4e5f-8a7b-6c5d4e3f2a10"},
    }
    sent.append(
        {"fullUrl": "urn:uuid:3b8f2a10-9c1d-4e5f-8a7b-6c5d4e3f2a10", "resource": res[0], "search": {"mode": "include"}}
    )
    add(
        "C1M--in--patient-named-by-url-version-and-urn-uuid",
        "C1M",
        "Leg paresis 2 days ago with back pain and breast cancer; the prefetch names the patient by absolute "
        "URL, by a versioned reference and by a urn:uuid its Bundle resolves: all three are used.",
        res,
        prefetch,
    )

    # A GLP-1 agonist given by reference explains the weight loss, as it does when coded.
    s = "glp1"
    res = [
        patient(s, born_years_ago(49)),
        condition(s, "bp", LBP, day(20)),
        weight(s, "w1", instant(200), 95.0),
        weight(s, "w2", instant(5), 88.0),
        med_by_reference(s, "sema", day(150), f"Medication/{s}-m-sema", "semaglutide pen"),
        medication(s, "m-sema", "1991306", "0.25 MG, 0.5 MG Dose 1.5 ML semaglutide 1.34 MG/ML Pen Injector"),
    ]
    add(
        "F5--out--glp1-agonist-by-reference",
        None,
        "A 7.4 % weight loss while on semaglutide ordered by medicationReference (Medication included): "
        "explained, no card.",
        res,
    )

    # The Medication sits in another key's searchset; a MedicationStatement refers to it too.
    s = "elsew"
    ibu, tram = (
        medication(s, "m-ibu", "206905", "Ibuprofen 400 MG Oral Tablet [Ibu]"),
        medication(s, "m-tram", "835603", "tramadol hydrochloride 50 MG Oral Tablet"),
    )
    res = [
        patient(s, born_years_ago(45)),
        condition(s, "bp", LBP, day(25)),
        med_by_reference(s, "ms1", day(22), f"Medication/{s}-m-ibu", "ibuprofen", "MedicationStatement"),
        med_by_reference(s, "mr1", day(8), f"Medication/{s}-m-tram", "tramadol"),
        ibu,
        tram,
    ]
    add(
        "F8--in--medication-found-elsewhere-in-the-prefetch",
        "C3R",
        "Ibuprofen (a MedicationStatement) then tramadol 14 days later (a MedicationRequest); both Medications "
        "arrive included in the MedicationStatement searchset only.",
        res,
        vendor_prefetch("https://ehr.example.org/fhir", res, include={"medicationStatements": [ibu, tram]}),
    )

    # Nothing resolves the reference: its display text is read (keywords), as the last resort.
    s = "disp1"
    res = [
        patient(s, born_years_ago(41), "male"),
        condition(s, "bp", LBP, day(30)),
        med_by_reference(s, "mr1", day(28), f"Medication/{s}-m-absent1", "Naproxen 500 mg tablet"),
        med_by_reference(s, "mr2", day(9), f"Medication/{s}-m-absent2", "Oxycodone 5 mg tablet"),
    ]
    add(
        "F8--in--medication-reference-display-only",
        "C3",
        "Naproxen then oxycodone 19 days later, named only by the references' display (the Medications cannot "
        "be found anywhere): read by keyword.",
        res,
    )

    # ICD-10-CM under its OID URI.
    s = "icdoid"
    res = [
        patient(s, born_years_ago(63)),
        condition(s, "bp", cc(ICD_OID, "M54.50", "Low back pain, unspecified"), day(15)),
        condition(s, "ca", cc(ICD_OID, "C50.911", "Malignant neoplasm of unsp site of right female breast"), day(800)),
    ]
    add(
        "F1--in--icd10cm-coded-by-oid",
        "C2",
        "Back pain (15 days) and breast cancer (800 days ago) coded in ICD-10-CM under urn:oid:2.16.840.1.113883.6.90.",
        res,
    )

    # Pounds written without UCUM.
    s = "lbs1"
    w1, w2 = weight(s, "w1", instant(190), 0), weight(s, "w2", instant(4), 0)
    w1["valueQuantity"] = {"value": 200, "unit": "lbs"}
    w2["valueQuantity"] = {"value": 187, "unit": "pounds"}
    res = [patient(s, born_years_ago(56), "male"), condition(s, "bp", LBP, day(40)), w1, w2]
    add(
        "F5--in--weights-in-pounds-without-ucum",
        "C3",
        "Weights of 200 lbs and 187 pounds with no UCUM code (6.5 % loss): read as pounds.",
        res,
    )
    return c
