"""FHIR callbacks show up in /metrics: latency per resource type and errors by reason."""

from __future__ import annotations

import pytest

from tests.fhir.app_client import SERVICE_URL, app_client
from tests.fhir.builders import hook_body, sample_patient
from tests.test_metrics import value

pytestmark = pytest.mark.integration


async def scrape_async(client):
    from prometheus_client.parser import text_string_to_metric_families

    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_fhir_callbacks_are_timed_and_failures_counted(fhir_server, fhir_server_with_token, tmp_path):
    await fhir_server.load(sample_patient("metrics-ok")["patient"])
    async with app_client(tmp_path) as client:
        before = await scrape_async(client)
        ok = await client.post(SERVICE_URL, json=hook_body("metrics-ok", fhir_server=fhir_server.base_url))
        refused = await client.post(SERVICE_URL, json=hook_body(
            "metrics-ok", fhir_server=fhir_server_with_token.base_url, token="wrong-token"))
        after = await scrape_async(client)
    assert ok.status_code == 200
    assert refused.status_code == 412

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Two invocations without prefetch: each queries Patient and Condition (and the optional types).
    assert delta("backpain_cds_fhir_request_seconds_count", resource="Patient") == 2
    assert delta("backpain_cds_fhir_request_seconds_count", resource="Condition") == 2
    assert delta("backpain_cds_fhir_request_seconds_sum", resource="Patient") > 0
    assert delta("backpain_cds_fhir_errors_total", reason="status") >= 2

