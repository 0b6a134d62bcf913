"""Data gathering against a real FHIR server (Medplum in memory, page size 2 so searches are paged)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.cdshooks.models import HookRequest
from service.errors import RequiredDataUnavailable
from service.fhir.client import FhirClient
from service.fhir.transport import FhirHttp
from service.gather import gather
from tests.fhir.builders import (
    OPTIONAL_KEYS,
    SPEC,
    all_resources,
    as_prefetch,
    hook_body,
    ids,
    sample_patient,
    settings,
    unrelated_observation,
)
from tests.support.fhir_server import TEST_TOKEN, RunningFhirServer

pytestmark = pytest.mark.integration


@pytest.fixture
async def client() -> AsyncIterator[FhirClient]:
    async with FhirHttp(connect_timeout=5, read_timeout=5) as http:
        yield FhirClient(http, page_cap=20)


async def loaded(server: RunningFhirServer, pid: str) -> dict[str, list[dict[str, Any]]]:
    data = sample_patient(pid)
    await server.load([*all_resources(data), unrelated_observation(pid)])
    server.clear_log()
    return data


async def test_E11_fetched_record_equals_prefetched_record_with_paging(fhir_server, client):
    data = await loaded(fhir_server, "eq-1")
    fetched = await gather(
        HookRequest.model_validate(hook_body("eq-1", fhir_server=fhir_server.base_url)),
        SPEC,
        settings(),
        client,
    )
    paged = [e["url"] for e in fhir_server.request_log() if "_offset=" in e["url"]]
    prefetched = await gather(
        HookRequest.model_validate(hook_body("eq-1", prefetch=as_prefetch(data))), SPEC, settings(), None
    )
    assert ids(fetched.resources) == ids(prefetched.resources) == ids(data)
    assert fetched.unavailable == prefetched.unavailable == frozenset()
    assert paged, "page size 2 should have made the server page the Condition search"


async def test_E5_any_subset_of_prefetch_gives_the_same_record(fhir_server, client):
    data = await loaded(fhir_server, "eq-2")
    full = as_prefetch(data)
    rng = random.Random(20240611)
    for _ in range(4):
        subset = {k: v for k, v in full.items() if rng.random() < 0.5}
        body = hook_body("eq-2", fhir_server=fhir_server.base_url, prefetch=subset)
        record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
        assert ids(record.resources) == ids(data), sorted(subset)


async def test_F2_token_is_sent_on_every_fhir_call(fhir_server_with_token, client):
    server = fhir_server_with_token
    data = await loaded(server, "tok-1")
    body = hook_body("tok-1", fhir_server=server.base_url, token=TEST_TOKEN)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    log = server.request_log()
    assert ids(record.resources) == ids(data)
    assert len(log) > len(SPEC.prefetch), "paging should add requests beyond one per key"
    assert all(entry["authorized"] for entry in log)


async def test_E10_412_when_the_fhir_server_answers_401(fhir_server_with_token, client):
    server = fhir_server_with_token
    await loaded(server, "tok-2")
    for token in ("wrong-token", None):
        body = hook_body("tok-2", fhir_server=server.base_url, token=token)
        with pytest.raises(RequiredDataUnavailable) as caught:
            await gather(HookRequest.model_validate(body), SPEC, settings(), client)
        message = caught.value.message
        assert "patient (Patient): FHIR server answered HTTP 401" in message
        assert "conditions (Condition)" in message
        assert "wrong-token" not in message


async def test_optional_data_refused_with_401_is_reported_unavailable(fhir_server_with_token, client):
    server = fhir_server_with_token
    data = await loaded(server, "tok-3")
    required = {k: v for k, v in as_prefetch(data).items() if k not in OPTIONAL_KEYS}
    body = hook_body("tok-3", fhir_server=server.base_url, token="wrong-token", prefetch=required)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    assert record.unavailable == OPTIONAL_KEYS
    assert set(record.resources) == set(SPEC.required_keys)


async def test_E10_412_without_prefetch_and_without_fhir_server(client):
    with pytest.raises(RequiredDataUnavailable, match="names no fhirServer") as caught:
        await gather(HookRequest.model_validate(hook_body("none-1")), SPEC, settings(), client)
    assert caught.value.status_code == 412


async def test_E6_null_keys_are_never_refetched(fhir_server, client):
    await loaded(fhir_server, "null-1")
    prefetch = dict.fromkeys(SPEC.prefetch)
    body = hook_body("null-1", fhir_server=fhir_server.base_url, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    assert fhir_server.request_log() == []
    assert all(record.of(k) == [] for k in SPEC.prefetch)
    assert record.unavailable == frozenset()


async def test_E7_operation_outcome_prefetch_is_refetched(fhir_server, client):
    data = await loaded(fhir_server, "oo-1")
    prefetch: dict[str, Any] = {**as_prefetch(data)}
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    prefetch["conditions"] = outcome
    prefetch["observations"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": outcome}],
    }
    body = hook_body("oo-1", fhir_server=fhir_server.base_url, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    asked = {entry["url"].split("?")[0] for entry in fhir_server.request_log()} - {"/fhir/metadata"}  # batch probe
    assert asked == {"/fhir/Condition", "/fhir/Observation"}
    assert ids(record.resources) == ids(data)


async def test_E8_paginated_prefetch_is_followed_with_the_token(fhir_server_with_token, client):
    server = fhir_server_with_token
    data = await loaded(server, "page-1")
    first_page = httpx.get(
        f"{server.base_url}/Condition",
        params={"patient": "Patient/page-1"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    ).json()
    assert len(first_page["entry"]) == server.page_size
    server.clear_log()
    prefetch = {**as_prefetch(data), "conditions": first_page}
    body = hook_body("page-1", fhir_server=server.base_url, token=TEST_TOKEN, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    log = server.request_log()
    assert ids(record.resources)["conditions"] == ids(data)["conditions"]
    assert log and all(e["authorized"] and "_offset=" in e["url"] for e in log)


async def test_E8_paging_link_to_another_host_is_not_followed_and_data_is_read_from_fhir_server(
    fhir_server_with_token, client
):
    server = fhir_server_with_token
    data = await loaded(server, "page-2")
    first_page = httpx.get(
        f"{server.base_url}/Condition",
        params={"patient": "Patient/page-2"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    ).json()
    first_page["link"] = [{"relation": "next", "url": "http://collector.invalid/fhir/Condition?_offset=2"}]
    server.clear_log()
    prefetch = {**as_prefetch(data), "conditions": first_page}
    body = hook_body("page-2", fhir_server=server.base_url, token=TEST_TOKEN, prefetch=prefetch)
    record = await gather(HookRequest.model_validate(body), SPEC, settings(), client)
    assert ids(record.resources)["conditions"] == ids(data)["conditions"]
    log = server.request_log()
    assert log[0]["url"].startswith("/fhir/Condition?patient=Patient%2Fpage-2")
    assert all(e["authorized"] for e in log)
