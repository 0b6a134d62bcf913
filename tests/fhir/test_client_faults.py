"""FHIR server misbehaviour that Medplum cannot produce, answered by a loopback stand-in server.

Stand-in: every test here answers from a handler function (``answering_server``, aiohttp.web on
127.0.0.1) instead of Medplum, because Medplum never answers 500 on purpose, HTML, broken JSON,
redirects, foreign paging links or endless pages. The requests go through the service's real client
(aiohttp, ``FhirHttp``) over a real socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import orjson
import pytest
from aiohttp import web

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError, RequiredDataUnavailable
from service.fhir.client import CallbackLimits, FhirClient, FhirServer
from service.fhir.query import FhirQuery
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import OPTIONAL_KEYS, SPEC, as_prefetch, hook_body, sample_patient, settings
from tests.fhir.stand_ins import answering_server

SEARCH = FhirQuery("Condition", params=(("patient", "Patient/p1"),))
# Development profile: loopback servers are called without an allowlist, and may get a token over http.
DEV = settings()
Handler = Callable[[web.Request], web.StreamResponse]


@asynccontextmanager
async def served(handler: Handler, page_cap: int = 20,
                 limits: CallbackLimits | None = None) -> AsyncIterator[tuple[FhirClient, str]]:
    async with answering_server(handler) as base, FhirHttp(connect_timeout=2, read_timeout=5) as http:
        yield FhirClient(http, page_cap=page_cap, limits=limits), base


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/fhir+json")


def page(next_url: str | None = None) -> web.Response:
    body: dict[str, object] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return json_response(body)


FAULTS: dict[str, tuple[Handler, str]] = {
    "http-500": (lambda _: web.Response(status=500, text="boom"), "HTTP 500"),
    "invalid-json": (lambda _: web.Response(text='{"resourceType": "Bundle",'), "not JSON"),
    "html-page": (lambda _: web.Response(text="<html><body>Sign in</body></html>", content_type="text/html"),
                  "not JSON"),
    "json-not-fhir": (lambda _: json_response({"status": "ok"}), "not a FHIR resource"),
    "redirect": (lambda _: web.Response(status=302, headers={"Location": "https://login.example/"}), "HTTP 302"),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_misbehaving_server_raises_fhir_access_error(fault: str):
    handler, reason = FAULTS[fault]
    async with served(handler) as (client, base):
        with pytest.raises(FhirAccessError, match=reason):
            await client.search(FhirServer(base, "tok"), SEARCH)


@pytest.mark.parametrize("fault", FAULTS)
async def test_E10_misbehaving_server_gives_412_for_required_and_unavailable_for_optional(fault: str):
    handler, reason = FAULTS[fault]
    async with served(handler) as (client, base):
        with pytest.raises(RequiredDataUnavailable, match=reason):
            await gather(HookRequest.model_validate(hook_body("p1", fhir_server=base)), SPEC, DEV, client)
        required = {k: v for k, v in as_prefetch(sample_patient("p1")).items() if k not in OPTIONAL_KEYS}
        body = hook_body("p1", fhir_server=base, prefetch=required)
        record = await gather(HookRequest.model_validate(body), SPEC, DEV, client)
    assert record.unavailable == OPTIONAL_KEYS


async def test_a_redirect_is_not_followed():
    seen: list[str] = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=307, headers={"Location": "/fhir/elsewhere"})

    async with served(handler) as (client, base):
        with pytest.raises(FhirAccessError, match="HTTP 307"):
            await client.search(FhirServer(base, "tok"), SEARCH)
    assert seen == ["/fhir/Condition"]


async def test_paging_link_to_another_host_is_not_followed_and_gets_no_token():
    seen: list[str | None] = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request.host)
        return page("https://attacker.example/fhir/Condition?page=2")

    async with served(handler) as (client, base):
        with pytest.raises(FhirAccessError, match="away from the FHIR server"):
            await client.search(FhirServer(base, "tok"), SEARCH)
        assert seen == [base.split("/")[2]]


@pytest.mark.parametrize("link", ["http://127.0.0.1:notaport/fhir/Condition", "http://[::1/fhir/Condition"])
async def test_malformed_paging_link_is_an_access_error_not_a_crash(link: str):
    async with served(lambda _: page(link)) as (client, base):
        with pytest.raises(FhirAccessError):
            await client.search(FhirServer(base, "tok"), SEARCH)


async def test_a_paging_link_on_our_server_with_a_line_break_is_an_access_error_not_a_crash():
    """A same-origin link cannot smuggle a header into the next request line."""
    seen: list[web.Request] = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return page(f"http://{request.host}/fhir/Condition?page=2\r\nX-Injected: 1")

    async with served(handler, page_cap=2) as (client, base):
        with pytest.raises(FhirAccessError):
            await client.search(FhirServer(base, "tok"), SEARCH)
    assert len(seen) == 2
    assert not any("X-Injected" in request.headers for request in seen)


async def test_a_token_with_a_line_break_is_an_access_error_not_a_crash():
    async with served(lambda _: page()) as (client, base):
        with pytest.raises(FhirAccessError, match="unreachable"):
            await client.search(FhirServer(base, "tok\r\nX-Injected: 1"), SEARCH)


async def test_paging_stops_at_the_cap_with_an_error_not_partial_data():
    calls = 0

    def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return page(f"http://{request.host}/fhir/Condition?page={calls + 1}")

    async with served(handler, page_cap=3) as (client, base):
        with pytest.raises(FhirAccessError, match="more than 3 pages"):
            await client.search(FhirServer(base), SEARCH)
    assert calls == 3


async def test_read_of_a_missing_resource_is_no_data():
    async with served(lambda _: json_response({"resourceType": "OperationOutcome"}, 404)) as (client, base):
        assert await client.fetch(FhirServer(base), FhirQuery("Patient", id="p1")) == []


async def test_search_with_an_error_outcome_entry_fails():
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "too-costly"}]}
    body = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": outcome}]}
    async with served(lambda _: json_response(body)) as (client, base):
        with pytest.raises(FhirAccessError, match="error OperationOutcome"):
            await client.search(FhirServer(base), SEARCH)


async def test_anonymous_request_carries_no_authorization_header_and_a_token_goes_as_bearer():
    seen: list[web.Request] = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return page()

    async with served(handler) as (client, base):
        assert len(await client.search(FhirServer(base), SEARCH)) == 1
        assert len(await client.search(FhirServer(base, "tok"), SEARCH)) == 1
    assert "Authorization" not in seen[0].headers
    assert seen[0].headers["Accept"] == "application/fhir+json"
    assert seen[0].headers["Accept-Encoding"] == "identity"
    assert seen[1].headers["Authorization"] == "Bearer tok"


async def test_cookies_a_server_sets_are_never_sent_back():
    seen: list[str | None] = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = page()
        response.set_cookie("session", "from-the-fhir-server")
        return response

    async with served(handler) as (client, base):
        await client.search(FhirServer(base), SEARCH)
        await client.search(FhirServer(base), SEARCH)
    assert seen == [None, None]


async def test_oversized_answer_is_refused():
    async with served(lambda _: page(), limits=CallbackLimits(response_bytes=64)) as (client, base):
        with pytest.raises(FhirAccessError, match="more than 64 bytes"):
            await client.search(FhirServer(base), SEARCH)
