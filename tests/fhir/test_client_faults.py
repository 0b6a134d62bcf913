"""FHIR server misbehaviour that Medplum cannot produce, injected with an ``httpx.MockTransport``.

Stand-in: every test here answers from a handler function instead of a real server, because Medplum
never answers 500 on purpose, HTML, broken JSON, redirects, foreign paging links or endless pages.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError, RequiredDataUnavailable
from service.fhir.client import CallbackLimits, FhirClient, FhirServer
from service.fhir.query import FhirQuery
from service.gather import gather
from tests.fhir.builders import OPTIONAL_KEYS, SPEC, as_prefetch, hook_body, sample_patient, settings

BASE = "https://ehr.example/fhir"
SEARCH = FhirQuery("Condition", params=(("patient", "Patient/p1"),))
# Development profile calls only loopback servers unless an allowlist names others (issue 16).
ALLOW = settings(fhir_server_allowlist=[BASE])
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, page_cap: int = 20) -> FhirClient:
    return FhirClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), page_cap=page_cap)


def page(next_url: str | None = None) -> httpx.Response:
    body: dict[str, object] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return httpx.Response(200, json=body)


FAULTS = {
    "http-500": (lambda _: httpx.Response(500, text="boom"), "HTTP 500"),
    "invalid-json": (lambda _: httpx.Response(200, text='{"resourceType": "Bundle",'), "not JSON"),
    "html-page": (
        lambda _: httpx.Response(200, text="<html><body>Sign in</body></html>", headers={"content-type": "text/html"}),
        "not JSON",
    ),
    "json-not-fhir": (lambda _: httpx.Response(200, json={"status": "ok"}), "not a FHIR resource"),
    "redirect": (lambda _: httpx.Response(302, headers={"location": "https://login.example/"}), "HTTP 302"),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_misbehaving_server_raises_fhir_access_error(fault: str):
    handler, reason = FAULTS[fault]
    with pytest.raises(FhirAccessError, match=reason):
        await client_for(handler).search(FhirServer(BASE, "tok"), SEARCH)


@pytest.mark.parametrize("fault", FAULTS)
async def test_E10_misbehaving_server_gives_412_for_required_and_unavailable_for_optional(fault: str):
    handler, reason = FAULTS[fault]
    client = client_for(handler)
    with pytest.raises(RequiredDataUnavailable, match=reason):
        await gather(HookRequest.model_validate(hook_body("p1", fhir_server=BASE)), SPEC, ALLOW, client)
    required = {k: v for k, v in as_prefetch(sample_patient("p1")).items() if k not in OPTIONAL_KEYS}
    body = hook_body("p1", fhir_server=BASE, prefetch=required)
    record = await gather(HookRequest.model_validate(body), SPEC, ALLOW, client)
    assert record.unavailable == OPTIONAL_KEYS


async def test_paging_link_to_another_host_is_not_followed_and_gets_no_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page("https://attacker.example/fhir/Condition?page=2")

    with pytest.raises(FhirAccessError, match="away from the FHIR server"):
        await client_for(handler).search(FhirServer(BASE, "tok"), SEARCH)
    assert [r.url.host for r in seen] == ["ehr.example"]


@pytest.mark.parametrize("link", ["https://ehr.example:notaport/fhir/Condition", "https://[::1/fhir/Condition"])
async def test_malformed_paging_link_is_an_access_error_not_a_crash(link: str):
    with pytest.raises(FhirAccessError):
        await client_for(lambda _: page(link)).search(FhirServer(BASE, "tok"), SEARCH)


async def test_paging_stops_at_the_cap_with_an_error_not_partial_data():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return page(f"{BASE}/Condition?page={calls + 1}")

    with pytest.raises(FhirAccessError, match="more than 3 pages"):
        await client_for(handler, page_cap=3).search(FhirServer(BASE), SEARCH)
    assert calls == 3


async def test_read_of_a_missing_resource_is_no_data():
    client = client_for(lambda _: httpx.Response(404, json={"resourceType": "OperationOutcome"}))
    assert await client.fetch(FhirServer(BASE), FhirQuery("Patient", id="p1")) == []


async def test_search_with_an_error_outcome_entry_fails():
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "too-costly"}]}
    body = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": outcome}]}
    with pytest.raises(FhirAccessError, match="error OperationOutcome"):
        await client_for(lambda _: httpx.Response(200, json=body)).search(FhirServer(BASE), SEARCH)


async def test_anonymous_request_carries_no_authorization_header():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page()

    assert len(await client_for(handler).search(FhirServer(BASE), SEARCH)) == 1
    assert "authorization" not in seen[0].headers
    assert seen[0].headers["accept"] == "application/fhir+json"


async def test_oversized_answer_is_refused():
    big = page()
    limits = CallbackLimits(response_bytes=64)
    client = FhirClient(httpx.AsyncClient(transport=httpx.MockTransport(lambda _: big)), limits=limits)
    with pytest.raises(FhirAccessError, match="more than 64 bytes"):
        await client.search(FhirServer(BASE), SEARCH)
