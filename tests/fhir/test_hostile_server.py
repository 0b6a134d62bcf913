"""FHIR callbacks against hostile servers (issue 16): caps on bytes and resources, the deadline, no echo.

Stand-ins (tests/fhir/stand_ins.py) because Medplum cannot be made to send an endless body, drip a
byte at a time or answer 3,000 resources on one page. Each runs on a loopback socket, so the real
client (aiohttp, ``FhirHttp``), the real caps and the real deadline are exercised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError, RequiredDataUnavailable
from service.fhir.client import CallbackLimits, FhirClient, FhirServer
from service.fhir.query import FhirQuery
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import SPEC, hook_body, plain, settings
from tests.fhir.stand_ins import scripted_server

SEARCH = FhirQuery("Condition", params=(("patient", "Patient/p1"),))
DEADLINE = 0.5
MARGIN = 0.5


def head(length: int | None = None, extra: bytes = b"") -> bytes:
    size = b"content-length: %d\r\n" % length if length is not None else b"transfer-encoding: chunked\r\n"
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\n" + size + extra + b"\r\n"


def searchset(count: int, resource_type: str = "Condition") -> bytes:
    entries = [{"resource": {"resourceType": resource_type, "id": f"r{i}"}} for i in range(count)]
    return orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})


@pytest.fixture
async def http() -> AsyncIterator[FhirHttp]:
    async with FhirHttp(connect_timeout=1.0, read_timeout=30.0) as client:
        yield client


async def test_an_endless_body_is_cut_at_the_response_cap(http: FhirHttp) -> None:
    sent = 0

    async def flood(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        writer.write(head())
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        while True:
            writer.write(chunk)
            await writer.drain()
            sent += 65536

    async with scripted_server(flood) as base:
        client = FhirClient(http, limits=CallbackLimits(response_bytes=1024 * 1024))
        with pytest.raises(FhirAccessError, match="more than 1048576 bytes"):
            await client.search(FhirServer(base), SEARCH)
    assert sent < 64 * 1024 * 1024  # the client stopped reading: the flood stalled on a full socket


async def test_a_declared_oversized_body_is_refused_before_reading(http: FhirHttp) -> None:
    async def declare(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(10 * 1024 * 1024 * 1024))
        await writer.drain()
        await asyncio.sleep(30)

    async with scripted_server(declare) as base:
        with pytest.raises(FhirAccessError, match="more than"):
            await FhirClient(http).search(FhirServer(base), SEARCH)


async def test_too_many_resources_on_one_page_are_refused(http: FhirHttp) -> None:
    body = searchset(30)

    async def many(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(len(body)) + body)
        await writer.drain()

    async with scripted_server(many) as base:
        client = FhirClient(http, limits=CallbackLimits(response_resources=20))
        with pytest.raises(FhirAccessError, match="more than 20 resources in one response"):
            await client.search(FhirServer(base), SEARCH)


async def test_the_invocation_budget_spans_every_callback(http: FhirHttp) -> None:
    """Each answer is under the per-response caps; together they pass the invocation's."""
    body = searchset(15)

    async def page(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(len(body), b"connection: close\r\n") + body)
        await writer.drain()

    async with scripted_server(page) as base:
        client = FhirClient(http, limits=CallbackLimits(response_resources=20, invocation_resources=40))
        await client.search(FhirServer(base), SEARCH)
        await client.search(FhirServer(base), SEARCH)
        with pytest.raises(FhirAccessError, match="invocation exceeded 40 resources"):
            await client.search(FhirServer(base), SEARCH)

        small = FhirClient(http, limits=CallbackLimits(response_bytes=len(body) + 1, invocation_bytes=2 * len(body)))
        await small.search(FhirServer(base), SEARCH)
        await small.search(FhirServer(base), SEARCH)
        with pytest.raises(FhirAccessError, match="invocation exceeded"):
            await small.search(FhirServer(base), SEARCH)


async def test_a_gzip_answer_we_did_not_ask_for_is_refused(http: FhirHttp) -> None:
    """We ask for identity: a compressed body would let a small wire size expand past the cap."""
    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(4, b"content-encoding: gzip\r\n") + b"\x1f\x8b\x08\x00")
        await writer.drain()

    async with scripted_server(gzipped) as base:
        with pytest.raises(FhirAccessError, match="content encoding"):
            await FhirClient(http).search(FhirServer(base), SEARCH)


async def test_a_slow_drip_server_cannot_hold_the_invocation_past_its_deadline(http: FhirHttp) -> None:
    async def drip(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(10_000) + b'{"resourceType": "Bundle", "entry": [')
        while True:  # one byte every 50 ms: each read is quick, so only the deadline can stop it
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b" ")

    async with scripted_server(drip) as base:
        request = HookRequest.model_validate(hook_body("drip-1", fhir_server=base))
        started = time.monotonic()
        with pytest.raises(RequiredDataUnavailable, match="deadline"):
            await gather(request, SPEC, settings(fhir_deadline_seconds=DEADLINE), FhirClient(http))
        assert time.monotonic() - started < DEADLINE + MARGIN


async def test_412_messages_never_echo_the_servers_content(http: FhirHttp) -> None:
    marker = b"SECRET-PAGE-CONTENT"

    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = orjson.dumps({"resourceType": marker.decode(), "issue": [{"diagnostics": marker.decode()}]})
        writer.write(b"HTTP/1.1 500 " + marker + b"\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with scripted_server(odd) as base:
        request = HookRequest.model_validate(hook_body("echo-1", fhir_server=base))
        with pytest.raises(RequiredDataUnavailable) as caught:
            await gather(request, SPEC, settings(), FhirClient(http))
    assert marker.decode() not in caught.value.message
    assert "HTTP 500" in caught.value.message


async def test_a_read_answering_another_resource_type_does_not_echo_it(http: FhirHttp) -> None:
    body = orjson.dumps({"resourceType": "<b>SECRET</b>", "id": "x"})

    async def wrong(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(len(body)) + body)
        await writer.drain()

    async with scripted_server(wrong) as base:
        with pytest.raises(FhirAccessError) as caught:
            await FhirClient(http).read(FhirServer(base), FhirQuery("Patient", id="p1"))
    assert "SECRET" not in caught.value.message


def test_outbound_calls_ignore_proxy_variables_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.main import create_app
    from tests.support.app import settings_for

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    for use_proxy_env in (False, True):
        state = create_app(settings_for(tmp_path, use_proxy_env=use_proxy_env)).state.backpain
        assert state.http.trust_env is use_proxy_env  # FHIR callbacks
        assert state.authenticator._jwks._http.trust_env is use_proxy_env  # JWK Set fetches


async def test_a_flooding_server_cannot_fill_our_buffers(http: FhirHttp) -> None:
    """The FHIR client's reader pauses the socket: what it holds unread stays under ~400 KiB.

    aiohttp's StreamReader pauses its transport past twice READ_BUFFER; one more socket read (up to
    256 KiB) may land first. Without back-pressure the flood would queue megabytes in that time.
    """
    from service.fhir.transport import READ_BUFFER

    async def flood(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head())
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        while True:
            writer.write(chunk)
            await writer.drain()

    async with scripted_server(flood) as base, http.session().get(base, allow_redirects=False) as response:
        first = len(await response.content.readany())
        for _ in range(20):  # give the flood every chance to push more into our process
            await asyncio.sleep(0.01)
        received = response.content.total_bytes  # every body byte that reached the reader so far
    assert received - first <= 2 * READ_BUFFER + 256 * 1024


async def test_the_jwks_client_reads_with_back_pressure_too() -> None:
    """JWK Sets still go through httpx: its flow-controlled backend pauses the socket the same way."""
    from service.fhir.transport import READ_BUFFER, FlowControlledBackend

    async def flood(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head())
        while True:
            writer.write(b" " * 65536)
            await writer.drain()

    async with scripted_server(flood) as base:
        port = int(base.split(":")[2].split("/")[0])
        stream = await FlowControlledBackend().connect_tcp("127.0.0.1", port, timeout=2)
        await stream.write(b"GET /fhir HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
        assert await stream.read(1, timeout=2)
        for _ in range(20):
            await asyncio.sleep(0.01)
        buffered = len(stream._reader._buffer)  # type: ignore[attr-defined]
        await stream.aclose()
    assert buffered <= 2 * READ_BUFFER + 256 * 1024


async def test_the_app_reads_a_real_answer_through_its_fhir_client(tmp_path: Path) -> None:
    """The app's client (FhirHttp) parses an ordinary answer and reuses its connection."""
    from service.main import create_app
    from tests.support.app import settings_for

    body = orjson.dumps({"resourceType": "Patient", "id": "p1"})
    connections = 0

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            writer.write(head(len(body)) + body)
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")

    async with scripted_server(ok) as base:
        app = create_app(settings_for(tmp_path))
        http = app.state.backpain.http
        client = FhirClient(http)
        for _ in range(3):
            found = await client.read(FhirServer(base), FhirQuery("Patient", id="p1"))
            assert found is not None and plain(found) == {"resourceType": "Patient", "id": "p1"}
        await http.aclose()
    assert connections == 1


async def test_an_answer_completed_after_the_deadline_is_not_parsed(http: FhirHttp) -> None:
    """Parsing holds the loop: once the invocation's deadline has passed, a late page is dropped unparsed."""
    body = searchset(5)

    async def ok(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(len(body)) + body)
        await writer.drain()

    async with scripted_server(ok) as base:
        client = FhirClient(http)
        assert len(await client.search(FhirServer(base), SEARCH)) == 5
        client.parse_until = asyncio.get_running_loop().time()  # the deadline is now
        with pytest.raises(FhirAccessError, match="after the deadline"):
            await client.search(FhirServer(base), SEARCH)
