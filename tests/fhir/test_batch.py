"""FHIR batch on the no-prefetch path (issue 17): against real Medplum, and stand-ins for what it cannot do.

Medplum's wrapper declares ``batch`` and runs batch POSTs through Medplum's own batch code
(``tests/fhir_server``); the stand-in below answers only faults Medplum never produces.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import web

from service.cdshooks.models import HookRequest
from service.errors import RequiredDataUnavailable
from service.fhir.capability import KEEP_SECONDS, RETRY_SECONDS, BatchVerdicts, declares_batch
from service.fhir.client import CallbackLimits, FhirClient
from service.fhir.decode import InvalidJson, decode_batch
from service.fhir.transport import FhirHttp
from service.gather import gather
from service.record import PatientRecord
from tests.fhir.builders import SPEC, all_resources, as_prefetch, hook_body, ids, sample_patient, settings
from tests.fhir.stand_ins import answering_server
from tests.support.fhir_server import RunningFhirServer

KEYS = len(SPEC.prefetch)


@pytest.fixture
async def http() -> AsyncIterator[FhirHttp]:
    async with FhirHttp(connect_timeout=5, read_timeout=5) as session:
        yield session


async def invoke(http: FhirHttp, base_url: str, pid: str, limits: CallbackLimits | None = None,
                 **values: Any) -> PatientRecord:
    body = hook_body(pid, fhir_server=base_url)
    config = {"fhir_deadline_seconds": 10.0, **values}
    record = await gather(HookRequest.model_validate(body), SPEC, settings(**config), FhirClient(http, limits=limits))
    await http.batch_verdicts.settled()
    return record


async def prefetched(data: dict[str, list[dict[str, Any]]], pid: str) -> PatientRecord:
    body = hook_body(pid, prefetch=as_prefetch(data))
    return await gather(HookRequest.model_validate(body), SPEC, settings(), None)


async def loaded(server: RunningFhirServer, pid: str) -> dict[str, list[dict[str, Any]]]:
    data = sample_patient(pid)
    await server.load(all_resources(data))
    server.clear_log()
    return data


def alone(log: list[dict[str, Any]]) -> list[str]:
    """The template queries asked alone (GETs that are not metadata nor later pages)."""
    return [e["url"] for e in log if e["method"] == "GET" and not e.get("batch")
            and "metadata" not in e["url"] and "_offset=" not in e["url"]]


# --- real Medplum -------------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_first_invocation_asks_alone_and_reads_the_statement_then_one_batch(fhir_server, http):
    data = await loaded(fhir_server, "bat-1")
    first = await invoke(http, fhir_server.base_url, "bat-1")
    log = fhir_server.request_log()
    assert [e["url"] for e in log if e["url"].endswith("/metadata")] == ["/fhir/metadata"]
    assert len(alone(log)) == KEYS and not any(e["method"] == "POST" for e in log)
    fhir_server.clear_log()

    second = await invoke(http, fhir_server.base_url, "bat-1")
    log = fhir_server.request_log()
    posts = [e for e in log if e["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["url"] == "/fhir"
    assert len([e for e in log if e.get("batch")]) == KEYS
    assert alone(log) == [] and not any("metadata" in e["url"] for e in log)
    assert any("_offset=" in e["url"] for e in log), "page size 2: later pages are read with GET"
    expected = await prefetched(data, "bat-1")
    assert ids(first.resources) == ids(second.resources) == ids(expected.resources) == ids(data)
    assert second.unavailable == frozenset()


@pytest.mark.integration
async def test_missing_patient_entry_is_asked_again_alone(fhir_server, http):
    data = await loaded(fhir_server, "bat-2")
    http.batch_verdicts.record(fhir_server.base_url, True)
    body = hook_body("bat-2-absent", fhir_server=fhir_server.base_url)
    await gather(HookRequest.model_validate(body), SPEC, settings(fhir_deadline_seconds=10.0), FhirClient(http))
    log = fhir_server.request_log()
    assert alone(log) == ["/fhir/Patient/bat-2-absent"], "only the 404 entry is asked again"
    assert data  # the loaded patient is another id: nothing of it may be asked


@pytest.mark.integration
async def test_server_without_batch_is_asked_alone_and_its_statement_read_once(fhir_server_without_batch, http):
    server = fhir_server_without_batch
    data = await loaded(server, "nob-1")
    for _ in range(2):
        record = await invoke(http, server.base_url, "nob-1")
        assert ids(record.resources) == ids(data)
    log = server.request_log()
    assert len([e for e in log if e["url"].endswith("/metadata")]) == 1
    assert len(alone(log)) == 2 * KEYS and not any(e["method"] == "POST" for e in log)


@pytest.mark.integration
async def test_batch_refused_with_405_falls_back_and_is_not_sent_again(fhir_server_without_batch, http):
    server = fhir_server_without_batch
    data = await loaded(server, "nob-2")
    http.batch_verdicts.record(server.base_url, True)  # as if its statement had said batch
    record = await invoke(http, server.base_url, "nob-2")
    assert ids(record.resources) == ids(data) and record.unavailable == frozenset()
    assert http.batch_verdicts.allows(server.base_url) is False
    await invoke(http, server.base_url, "nob-2")
    log = server.request_log()
    assert len([e for e in log if e["method"] == "POST"]) == 1
    assert len(alone(log)) == 2 * KEYS


@pytest.mark.integration
async def test_fhir_batch_setting_off_sends_no_batch_and_reads_no_statement(fhir_server, http):
    data = await loaded(fhir_server, "off-1")
    http.batch_verdicts.record(fhir_server.base_url, True)
    record = await invoke(http, fhir_server.base_url, "off-1", fhir_batch=False)
    log = fhir_server.request_log()
    assert ids(record.resources) == ids(data)
    assert not any(e["method"] == "POST" or "metadata" in e["url"] for e in log)


# --- stand-in for faults Medplum cannot produce --------------------------------------------------------------

Fault = Callable[[list[dict[str, Any]]], Any]


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


@asynccontextmanager
async def stand_in(data: dict[str, list[dict[str, Any]]], fault: Fault) -> AsyncIterator[tuple[str, list[str]]]:
    """A FHIR server holding ``data``: GETs answered truly, batches answered truly then passed to ``fault``
    (which edits the entries in place, returns a coroutine to await: a hang, or an HTTP status to answer the
    whole batch with). Yields (base URL, log)."""
    by_type = {SPEC.prefetch[k].resource_type: v for k, v in data.items()}
    log: list[str] = []

    def answer(path: str) -> dict[str, Any]:
        kind, _, rest = path.partition("?")[0].partition("/")
        if rest:
            return by_type[kind][0]
        return searchset(by_type.get(kind, []))

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path_qs.removeprefix("/fhir/")
        log.append(f"{request.method} {path}")
        if request.method == "GET":
            return web.json_response(answer(path), content_type="application/fhir+json")
        asked = orjson.loads(await request.read())["entry"]
        entries = [{"response": {"status": "200 OK"}, "resource": answer(e["request"]["url"])} for e in asked]
        hang = fault(entries)
        if isinstance(hang, int):
            return web.Response(status=hang, text="unavailable")
        if hang is not None:
            await hang
        body = {"resourceType": "Bundle", "type": "batch-response", "entry": entries}
        return web.Response(body=orjson.dumps(body), content_type="application/fhir+json")

    async with answering_server(handle) as base:
        yield base, log


def index_of(resource_type: str) -> int:
    return [s.resource_type for s in SPEC.prefetch.values()].index(resource_type)


async def test_wrong_length_batch_response_asks_all_alone_and_stops_batching(http):
    data = sample_patient("sb-1")
    async with stand_in(data, lambda entries: entries.pop()) as (url, log):
        http.batch_verdicts.record(url, True)
        record = await invoke(http, url, "sb-1")
        assert ids(record.resources) == ids(data)
        assert [line.split()[0] for line in log].count("GET") == KEYS
        assert http.batch_verdicts.allows(url) is False
        log.clear()
        await invoke(http, url, "sb-1")
        assert not any(line.startswith("POST") for line in log)


async def test_500_entry_among_good_ones_is_asked_again_alone(http):
    data = sample_patient("sb-2")

    def fault(entries: list[dict[str, Any]]) -> None:
        # a resource that looks usable: only the status says it is not
        failed = {"response": {"status": "500 Internal Server Error"}, "resource": searchset([])}
        entries[index_of("Condition")] = failed

    async with stand_in(data, fault) as (url, log):
        http.batch_verdicts.record(url, True)
        record = await invoke(http, url, "sb-2")
        assert ids(record.resources) == ids(data)
        assert [line for line in log if line.startswith("GET")] == ["GET Condition?patient=Patient%2Fsb-2"]
        assert http.batch_verdicts.allows(url) is True


async def test_patient_of_another_patient_in_the_batch_fails_the_invocation(http):
    data = sample_patient("sb-3")

    def fault(entries: list[dict[str, Any]]) -> None:
        entries[index_of("Patient")]["resource"] = {"resourceType": "Patient", "id": "someone-else"}

    async with stand_in(data, fault) as (url, log):
        http.batch_verdicts.record(url, True)
        with pytest.raises(RequiredDataUnavailable, match="another patient"):
            await invoke(http, url, "sb-3")
        assert not any(line.startswith("GET") for line in log)


async def test_batch_entry_over_the_response_cap_fails_its_key_not_the_batching(http):
    data = sample_patient("sb-4")

    def fault(entries: list[dict[str, Any]]) -> None:
        entries[index_of("Procedure")]["resource"]["entry"][0]["resource"]["note"] = [{"text": "x" * 5000}]

    async with stand_in(data, fault) as (url, _):
        http.batch_verdicts.record(url, True)
        record = await invoke(http, url, "sb-4", limits=CallbackLimits(response_bytes=4096))
        assert record.unavailable == frozenset({"procedures"})
        assert http.batch_verdicts.allows(url) is True


async def test_batch_over_the_invocation_budget_fails_every_key(http):
    data = sample_patient("sb-5")

    def fault(entries: list[dict[str, Any]]) -> None:
        entries[index_of("Condition")]["resource"]["entry"][0]["resource"]["note"] = [{"text": "x" * 20000}]

    async with stand_in(data, fault) as (url, log):
        http.batch_verdicts.record(url, True)
        limits = CallbackLimits(response_bytes=64 * 1024, invocation_bytes=16 * 1024)
        with pytest.raises(RequiredDataUnavailable, match="exceeded 16384 bytes"):
            await invoke(http, url, "sb-5", limits=limits)
        assert not any(line.startswith("GET") for line in log), "a cap hit is not asked again alone"
        assert http.batch_verdicts.allows(url) is True


async def test_batch_hanging_past_the_deadline_fails_in_time_and_stops_batching(http):
    data = sample_patient("sb-6")
    async with stand_in(data, lambda entries: asyncio.sleep(30)) as (url, _):
        http.batch_verdicts.record(url, True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RequiredDataUnavailable, match="deadline"):
            await invoke(http, url, "sb-6", fhir_deadline_seconds=0.5)
        assert loop.time() - started < 10
        assert http.batch_verdicts.allows(url) is False


@pytest.mark.parametrize("status", [503, 429])
async def test_batch_failing_as_any_request_can_backs_off_a_minute_not_ten(http, status):
    data = sample_patient(f"sb-7-{status}")
    now = [1000.0]
    http.batch_verdicts = BatchVerdicts(clock=lambda: now[0])
    async with stand_in(data, lambda entries: status) as (url, log):
        http.batch_verdicts.record(url, True)
        record = await invoke(http, url, f"sb-7-{status}")
        assert ids(record.resources) == ids(data) and record.unavailable == frozenset()
        assert [line.split()[0] for line in log].count("GET") == KEYS
        assert http.batch_verdicts.allows(url) is False
        now[0] += RETRY_SECONDS + 1
        assert http.batch_verdicts.allows(url) is None  # its statement is read again, then a batch is tried


async def test_batch_answered_400_is_not_sent_again_for_ten_minutes(http):
    data = sample_patient("sb-8")
    now = [1000.0]
    http.batch_verdicts = BatchVerdicts(clock=lambda: now[0])
    async with stand_in(data, lambda entries: 400) as (url, _):
        http.batch_verdicts.record(url, True)
        record = await invoke(http, url, "sb-8")
        assert ids(record.resources) == ids(data)
        now[0] += KEEP_SECONDS - 1
        assert http.batch_verdicts.allows(url) is False


# --- units -----------------------------------------------------------------------------------------------------


def test_decode_batch_reads_status_and_resource_per_entry():
    body = {"resourceType": "Bundle", "type": "batch-response", "entry": [
        {"response": {"status": "200 OK"}, "resource": {"resourceType": "Patient", "id": "p"}},
        {"response": {"status": "404"}},
        {"response": {"status": "bad"}, "resource": searchset([])},
    ]}
    first, second, third = decode_batch(orjson.dumps(body)) or ()
    assert (first.status, first.value and first.value.resource_type) == (200, "Patient")
    assert (second.status, second.value, second.size) == (404, None, 0)
    assert third.status is None and third.value is not None and third.value.resource_type == "Bundle"
    assert decode_batch(b'{"resourceType": "Bundle", "type": "searchset", "entry": []}') is None
    assert decode_batch(b'{"resourceType": "Bundle", "type": "batch-response", "entry": [1]}') is None
    with pytest.raises(InvalidJson):
        decode_batch(b"{not json")


def test_declares_batch_only_from_a_system_interaction():
    def statement(rest: Any) -> bytes:
        return orjson.dumps({"resourceType": "CapabilityStatement", "rest": rest})

    assert declares_batch(statement([{"mode": "server", "interaction": [{"code": "batch"}]}])) is True
    assert declares_batch(statement([{"mode": "server", "interaction": [{"code": "transaction"}]}])) is False
    assert declares_batch(statement([{"resource": [{"interaction": [{"code": "batch"}]}]}])) is False
    assert declares_batch(statement("odd")) is False
    assert declares_batch(b'{"resourceType": "Patient"}') is None
    assert declares_batch(b"<html>") is None


def test_verdicts_expire_yes_after_ten_minutes_unreadable_after_one():
    now = [0.0]
    verdicts = BatchVerdicts(clock=lambda: now[0])
    assert verdicts.allows("a") is None
    verdicts.record("a", True)
    verdicts.record("b", None)
    now[0] = RETRY_SECONDS - 1
    assert (verdicts.allows("a"), verdicts.allows("b")) == (True, False)
    now[0] = RETRY_SECONDS + 1
    assert (verdicts.allows("a"), verdicts.allows("b")) == (True, None)
    verdicts.refuse("a")
    now[0] += KEEP_SECONDS - 1
    assert verdicts.allows("a") is False
    now[0] += 2
    assert verdicts.allows("a") is None


def test_back_off_doubles_per_failure_in_a_row_up_to_ten_minutes_and_an_answer_resets_it():
    now = [0.0]
    verdicts = BatchVerdicts(clock=lambda: now[0])

    def pause(url: str) -> float:
        """How long ``url`` gets no batch from now (to the second)."""
        start = now[0]
        while verdicts.allows(url) is False:
            now[0] += 1
        waited, now[0] = now[0] - start, start
        return waited

    seen = []
    for _ in range(6):
        verdicts.back_off("a")
        verdicts.back_off("a")  # a batch already under way that failed alike: neither counts nor shortens
        seen.append(pause("a"))
        now[0] += seen[-1]
        verdicts.record("a", True)  # the statement read again: batches are tried again
    assert seen == [RETRY_SECONDS, 2 * RETRY_SECONDS, 4 * RETRY_SECONDS, 8 * RETRY_SECONDS, KEEP_SECONDS,
                    KEEP_SECONDS]
    verdicts.answered("a")
    verdicts.back_off("a")
    assert pause("a") == RETRY_SECONDS
    verdicts.refuse("b")
    verdicts.back_off("b")  # a refusal in force is not shortened by a back-off
    assert pause("b") == KEEP_SECONDS
