"""One OperationOutcome rule for a prefetch value and for a FHIR server's searchset (spec E7, issue 11).

Informational and warning outcomes (Epic puts one into most searchsets, and it is the only entry of an
empty result) are ignored and the resources kept; an error or fatal outcome voids the page on both paths.
Stand-in: the FHIR-client side answers from a loopback stand-in server (``answering_server``), because
Medplum never puts an OperationOutcome into a searchset.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp import web

from service.cdshooks.models import HookRequest
from service.cdshooks.prefetch import UNSATISFIED, resolve_prefetch
from service.errors import FhirAccessError
from service.fhir.client import FhirClient, FhirServer
from service.fhir.decode import kind_of
from service.fhir.query import FhirQuery
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import SPEC, hook_body, plain, settings
from tests.fhir.stand_ins import answering_server

CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}
MEDICATION = {"resourceType": "Medication", "id": "m1", "code": {"text": "ibuprofen"}}


def outcome(*severities: str, mode: str | None = "outcome") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": s, "code": "processing"} for s in severities],
        }
    }
    if mode:
        entry["search"] = {"mode": mode}
    return entry


def searchset(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": list(entries)}


MATCH = {"resource": CONDITION, "search": {"mode": "match"}}
SHAPES: dict[str, tuple[dict[str, Any], list[dict[str, Any]] | None]] = {
    "information-only-epic-empty-result": (searchset(outcome("information")), []),
    "warning-beside-resources": (searchset(MATCH, outcome("warning")), [CONDITION]),
    "information-without-search-mode": (
        searchset({"resource": CONDITION}, outcome("information", mode=None)),
        [CONDITION],
    ),
    "outcome-with-no-issues": (searchset(MATCH, {"resource": {"resourceType": "OperationOutcome"}}), [CONDITION]),
    "included-medication-is-not-a-match": (
        searchset(MATCH, {"resource": MEDICATION, "search": {"mode": "include"}}),
        [CONDITION],
    ),
    "garbage-search-element-keeps-the-match": (searchset({"resource": CONDITION, "search": "match"}), [CONDITION]),
    "error-outcome": (searchset(MATCH, outcome("error")), None),
    "fatal-among-information": (searchset(MATCH, outcome("information", "fatal")), None),
    "error-outcome-without-search-mode": (searchset(MATCH, outcome("error", mode=None)), None),
}


@pytest.mark.parametrize("name", SHAPES)
async def test_E7_prefetch_and_fhir_client_read_a_searchset_alike(name: str) -> None:
    bundle, expected = SHAPES[name]
    got = resolve_prefetch({"conditions": bundle}, "conditions", "Condition")

    def answer(_: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(bundle), content_type="application/fhir+json")

    async with answering_server(answer) as base, FhirHttp() as http:
        client = FhirClient(http)
        query = FhirQuery("Condition", params=(("patient", "Patient/p1"),))
        if expected is None:
            assert got is UNSATISFIED
            with pytest.raises(FhirAccessError, match="error OperationOutcome"):
                await client.search(FhirServer(base), query)
        else:
            fetched = await client.search(FhirServer(base), query)
            assert got.resources == expected
            assert [plain(r) for r in fetched if kind_of(r) == "Condition"] == expected


def test_E7_an_operation_outcome_alone_is_unsatisfied() -> None:
    alone = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
    assert resolve_prefetch({"conditions": alone}, "conditions", "Condition") is UNSATISFIED


async def test_E7_informational_outcomes_give_no_412_and_keep_the_data_without_fhir_server() -> None:
    """The first-week symptom: an Epic prefetch of outcome-only searchsets answered 412."""
    prefetch: dict[str, Any] = {k: searchset(outcome("information")) for k in SPEC.prefetch}
    prefetch["patient"] = {"resourceType": "Patient", "id": "p1"}
    prefetch["conditions"] = searchset(MATCH, outcome("warning"))
    record = await gather(HookRequest.model_validate(hook_body("p1", prefetch=prefetch)), SPEC, settings(), None)
    assert record.unavailable == frozenset()
    assert [r["id"] for r in record.of("conditions")] == ["c1"]
    assert all(record.of(k) == [] for k in SPEC.prefetch if k not in ("patient", "conditions"))
