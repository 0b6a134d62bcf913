"""Another patient's data never reaches a card, an evidence line or a log line (issue 11).

Every fixture case is sent with a second patient's record mixed into its prefetch, under every way a
reference can name that other patient (relative, absolute, versioned, a ``urn:uuid`` its Bundle resolves,
identifier only, no subject at all): the response must equal the case's golden response exactly and
name none of the foreign resources. Then one request through the whole app checks the log line (counts
only) and the Prometheus counter.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from service.cdshooks.models import HookRequest, HookResponse, dump_clean
from service.engine import evaluate
from service.errors import RequiredDataUnavailable
from service.fhir.client import FhirClient
from service.fhir.identity import OTHER_PATIENT, UNNAMED, PatientIdentity, target
from service.fhir.transport import FhirHttp
from service.fixtures_catalog import Case, list_cases
from service.gather import gather, record_from_prefetch
from tests.fhir.builders import SPEC, hook_body, plain, settings
from tests.support.app import SERVICE_URL, client_for, hook_request, settings_for
from tests.support.engine import knowledge_for, run_case
from tests.test_metrics import scrape, value

CASES = list_cases()
FOREIGN = "zz-foreign"


def foreign_forms(pid: str) -> list[dict[str, Any] | None]:
    """Every way of (not) naming patient ``pid`` that must not count as the context patient."""
    return [
        {"reference": f"Patient/{pid}"},
        {"reference": f"https://ehr.example.org/fhir/Patient/{pid}"},
        {"reference": f"Patient/{pid}/_history/7"},
        {"reference": "urn:uuid:5e0d7c1a-0000-4000-8000-00000000f0e1"},
        {"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-9"}},
        {"reference": "Group/ward-7"},
        None,
    ]


def with_foreign(case: Case, donor: Case, prefetch: dict[str, Any]) -> dict[str, Any]:
    """``prefetch`` plus every resource of ``donor`` under a new id, naming the donor in turn in each form."""
    out = copy.deepcopy(prefetch)
    # The prefetch key each resource type goes under, as the service's own knowledge declares it.
    by_type = {item.resource_type: key for key, item in SPEC.prefetch.items() if item.resource_type != "Patient"}
    forms = foreign_forms(donor.patient_id)
    for n, resource in enumerate(donor.resources()):
        key = by_type.get(resource["resourceType"])
        if key is None:
            continue
        foreign = {**copy.deepcopy(resource), "id": f"{FOREIGN}-{n}"}
        form = forms[n % len(forms)]
        if form is None:
            foreign.pop("subject", None)
        else:
            foreign["subject"] = form
        bundle = out.get(key)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            bundle = out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        bundle.setdefault("entry", []).append({"resource": foreign})
    # The urn:uuid form resolves, in the Bundle, to the donor patient: still another patient.
    donor_patient = next(r for r in donor.resources() if r["resourceType"] == "Patient")
    out["conditions"].setdefault("entry", []).append(
        {
            "fullUrl": "urn:uuid:5e0d7c1a-0000-4000-8000-00000000f0e1",
            "resource": donor_patient,
            "search": {"mode": "include"},
        }
    )
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_card_or_evidence_carries_another_patients_resource(case: Case) -> None:
    k = knowledge_for(case)
    donor = CASES[(CASES.index(case) + 1) % len(CASES)]
    prefetch = with_foreign(case, donor, case.prefetch(k.service))
    record = record_from_prefetch(prefetch, case.patient_id, k.service)
    result = evaluate(record, k, case.as_of, case.hook_instance)
    response = dump_clean(HookResponse(cards=result.cards))
    # An order-hook case's golden is the order answer; its chart card is the one run_case computes.
    assert response == (run_case(case)[1] if case.order_context is not None else case.expected())
    assert FOREIGN not in json.dumps(response)
    assert all(FOREIGN not in str(r.get("id")) for items in record.resources.values() for r in items)


def test_a_patient_prefetch_of_another_patient_is_unsatisfied() -> None:
    case = next(c for c in CASES if c.name.startswith("C1--in--leg-weakness"))
    k = knowledge_for(case)
    prefetch = case.prefetch(k.service)
    prefetch["patient"] = {**prefetch["patient"], "id": "someone-else"}
    with pytest.raises(RequiredDataUnavailable, match="patient"):
        record_from_prefetch(prefetch, case.patient_id, k.service)


def test_E10_412_when_the_patient_prefetch_is_another_patient_and_there_is_no_fhir_server(tmp_path: Path) -> None:
    body = hook_request("p-ctx")
    body["prefetch"]["patient"]["id"] = "p-other"
    with client_for(settings_for(tmp_path)) as client:
        response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 412
    assert "patient (Patient)" in response.json()["issue"][0]["diagnostics"]


def test_foreign_resources_are_counted_and_logged_with_counts_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    body = hook_request("p-ctx")
    mine = {"resourceType": "Condition", "id": "mine-1", "subject": {"reference": "Patient/p-ctx"}}
    theirs = [
        {
            "resourceType": "Condition",
            "id": "theirs-1",
            "subject": {"reference": "Patient/p-other"},
            "code": {"text": "cauda equina syndrome"},
        },
        {"resourceType": "Condition", "id": "theirs-2", "code": {"text": "metastatic breast cancer"}},
    ]
    body["prefetch"]["conditions"]["entry"] = [{"resource": r} for r in [mine, *theirs]]
    with client_for(settings_for(tmp_path)) as client:
        before = scrape(client)
        assert client.post(SERVICE_URL, json=body).status_code == 200
        after = scrape(client)
    name = "backpain_cds_foreign_resources_dropped_total"
    assert (
        value(after, name, resource="Condition", reason=OTHER_PATIENT)
        - value(before, name, resource="Condition", reason=OTHER_PATIENT)
        == 1
    )
    assert (
        value(after, name, resource="Condition", reason=UNNAMED)
        - value(before, name, resource="Condition", reason=UNNAMED)
        == 1
    )
    out, err = capfd.readouterr()
    lines = [json.loads(line) for line in (out + err).splitlines() if line.startswith("{")]  # logs: stderr
    dropped = [line for line in lines if line.get("event") == "patient.foreign_resources_dropped"]
    assert len(dropped) == 1
    assert dropped[0]["count"] == 2
    assert set(dropped[0]) <= {"event", "level", "timestamp", "count", "by_type", "logger"}
    for secret in ("theirs-1", "theirs-2", "p-other", "cauda equina", "metastatic"):
        assert secret not in out + err, secret


@pytest.mark.parametrize(
    ("reference", "mine"),
    [
        ("Patient/p1", True),
        ("https://ehr.example.org/fhir/R4/Patient/p1", True),
        ("http://ehr.example.org/Patient/p1/_history/3", True),
        ("Patient/p1/_history/3", True),
        ("urn:uuid:aaaa", True),
        ("urn:uuid:bbbb", False),
        ("Patient/p10", False),
        ("Patient/P1", False),
        ("Group/p1", False),
        ("ehr/Patient/p1", False),
        ("Patient/", False),
        ("p1", False),
        ("#p1", False),
    ],
)
def test_which_references_name_the_context_patient(reference: str, mine: bool) -> None:
    identity = PatientIdentity("p1", frozenset({"urn:uuid:aaaa"}))
    assert identity.names_patient(reference) is mine


def test_aliases_come_only_from_bundle_entries_that_are_the_context_patient() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"fullUrl": "urn:uuid:aaaa", "resource": {"resourceType": "Patient", "id": "p1"}},
            {"fullUrl": "urn:uuid:bbbb", "resource": {"resourceType": "Patient", "id": "p2"}},
            {"fullUrl": "urn:uuid:cccc", "resource": {"resourceType": "Condition", "id": "p1"}},
            "not an entry",
        ],
    }
    assert PatientIdentity.of("p1", [bundle, None, "x"]).aliases == {"urn:uuid:aaaa"}
    assert target("https://x.org/fhir/Medication/m1/_history/2") == ("Medication", "m1")


@pytest.mark.integration
async def test_a_patient_prefetch_of_another_patient_is_fetched_from_the_fhir_server(fhir_server) -> None:
    await fhir_server.load([{"resourceType": "Patient", "id": "ident-ctx", "birthDate": "1950-01-01"}])
    fhir_server.clear_log()
    prefetch: dict[str, Any] = dict.fromkeys(SPEC.prefetch)
    prefetch["patient"] = {"resourceType": "Patient", "id": "ident-other", "birthDate": "2001-01-01"}
    body = hook_body("ident-ctx", fhir_server=fhir_server.base_url, prefetch=prefetch)
    async with FhirHttp(connect_timeout=5, read_timeout=5) as http:
        record = await gather(HookRequest.model_validate(body), SPEC, settings(), FhirClient(http))
    assert [e["url"] for e in fhir_server.request_log()] == ["/fhir/Patient/ident-ctx"]
    assert [(plain(p)["id"], plain(p)["birthDate"]) for p in record.of("patient")] == [("ident-ctx", "1950-01-01")]
