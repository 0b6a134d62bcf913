"""A recent spine MRI coded only in CPT counts for F10 suppression (issue 19, left from issue 12).

The CPT codes are read from the loaded ``cards/spine-imaging.json``, never listed here: every CPT spine MRI
of that file must suppress the repeat MRI, and every CPT spine CT must not.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from service.assessment import assess
from service.engine import evaluate
from service.facts import build_facts
from service.fixtures_catalog import Case, list_cases
from service.knowledge.imaging import Study
from service.record_assembly import record_from_prefetch
from tests.support.engine import knowledge

CPT = "http://www.ama-assn.org/go/cpt"
STUDIES = sorted((s for s in knowledge().order.imaging.studies.values() if s.key[0] == CPT),
                 key=lambda s: s.key[1])
C3_CASE = next(c for c in list_cases() if c.name == "F10--in--c3-cpt-thoracic-mri-report-no-new-mri")
C1_CASE = next(c for c in list_cases() if c.name == "F10--in--c1-cpt-lumbar-mri-3-hours-ago-covers-cauda-equina")
DESCRIPTOR = "Licensed descriptor words that must never reach a card"


def _with_code(case: Case, code: str, display: str | None = None) -> tuple[Any, Any]:
    """The case's assessment and evaluation with its one MRI resource re-coded to CPT ``code``."""
    k = knowledge()
    prefetch = copy.deepcopy(case.prefetch(k.service))
    coding: dict[str, str] = {"system": CPT, "code": code}
    if display is not None:
        coding["display"] = display
    changed = 0
    for value in prefetch.values():
        for entry in (value or {}).get("entry", []):
            resource = entry["resource"]
            if resource["id"].endswith("-mri"):
                if resource["resourceType"] == "ImagingStudy":
                    resource["procedureCode"] = [{"coding": [coding]}]
                else:
                    resource["code"] = {"coding": [coding]}
                changed += 1
    assert changed == 1
    record = record_from_prefetch(prefetch, case.patient_id, k.service, case.hook_instance)
    types = {key: spec.resource_type for key, spec in k.service.prefetch.items()}
    a = assess(build_facts(record, types, case.as_of, k.relevance.keep), k, case.as_of)
    return a, evaluate(record, k, case.as_of, case.hook_instance)


def _mri_suggested(result: Any) -> bool:
    return any(s.label.startswith("Order MRI") for card in result.cards for s in card.suggestions)


def test_the_knowledge_holds_cpt_spine_mri_and_ct_codes() -> None:
    modalities = {s.modality for s in STUDIES}
    assert modalities == {"MRI", "CT"} and len([s for s in STUDIES if s.modality == "MRI"]) >= 3


@pytest.mark.parametrize("study", STUDIES, ids=lambda s: f"{s.modality}-{s.region}-{s.key[1]}")
def test_a_recent_cpt_spine_mri_suppresses_the_c3_mri_and_a_cpt_ct_does_not(study: Study) -> None:
    a, result = _with_code(C3_CASE, study.key[1])
    (card,) = result.cards
    if study.modality == "MRI":
        assert a.has("F10")
        (ev,) = a.findings["F10"].evidence
        assert ev.code == study.key and ev.what == knowledge().order.decisions.study_names["MRI"][study.region]
        assert not _mri_suggested(result) and "review the result" in card.detail
    else:
        assert not a.has("F10") and _mri_suggested(result)


@pytest.mark.parametrize("study", [s for s in STUDIES if s.modality == "MRI"], ids=lambda s: s.key[1])
def test_a_performed_cpt_mri_suppresses_the_c1_mri_only_when_it_covers_the_lumbosacral_spine(study: Study) -> None:
    _, result = _with_code(C1_CASE, study.key[1])
    covers = study.region in knowledge().order.decisions.covering("lumbar")
    assert _mri_suggested(result) is not covers


def test_the_record_s_cpt_descriptor_never_reaches_the_card() -> None:
    a, result = _with_code(C3_CASE, "72148", display=DESCRIPTOR)
    assert a.has("F10")
    (card,) = result.cards
    assert DESCRIPTOR not in card.model_dump_json() and "CPT 72148" in card.detail


def test_the_pre_validation_filter_keeps_cpt_spine_mri_but_not_cpt_ct() -> None:
    k = knowledge()
    for study in STUDIES:
        resource = {"resourceType": "ServiceRequest", "id": "s", "status": "active", "intent": "order",
                    "code": {"coding": [{"system": CPT, "code": study.key[1]}]}}
        assert k.relevance.keep(resource) is (study.modality == "MRI"), study.key
