"""``/metrics``: every listed series is exposed, by name, and moves when its event happens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.api import hooks
from service.cdshooks.models import Card
from service.engine import Evaluation
from service.errors import Unauthorized
from tests.support import processes
from tests.support.app import SERVICE_URL, client_for, hook_request, settings_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient | httpx.Client, url: str = "/metrics") -> Samples:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class RejectingAuthenticator:
    """Stands in for the JWT authenticator: every token is a replay."""

    async def authenticate(self, authorization_header: str | None, path: str) -> dict[str, Any] | None:
        raise Unauthorized("jti already used (replay)")


def test_every_listed_series_moves_when_its_event_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    card = Card.model_validate({"summary": "Consider urgent spine MRI", "indicator": "critical",
                                "source": {"label": "Back-pain red flags"}})
    monkeypatch.setattr(hooks, "evaluate", lambda *_: Evaluation(models=[card], tier="urgent"))
    feedback = {"feedback": [
        {"card": "c-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s"}],
         "outcomeTimestamp": "2026-11-25T10:00:00Z"},
        {"card": "c-2", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}
    with client_for(settings_for(tmp_path)) as client:
        before = scrape(client)
        assert client.post(SERVICE_URL, json=hook_request()).status_code == 200
        assert client.post(SERVICE_URL + "/feedback", json=feedback).status_code == 200
        assert client.post(SERVICE_URL + "/feedback", json=feedback).status_code == 200
        assert client.get("/no/such/path/42").status_code == 404
        metrics.observe_fhir("Condition", 0.12)
        metrics.observe_fhir("Observation", 2.5, error="timeout")
        client.app.state.backpain.authenticator = RejectingAuthenticator()  # type: ignore[attr-defined]
        assert client.get("/cds-services").status_code == 401
        after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    hook = "/cds-services/{service_id}"
    assert delta("backpain_cds_requests_total", endpoint=hook, status="200") == 1
    assert delta("backpain_cds_requests_total", endpoint=hook + "/feedback", status="200") == 2
    assert delta("backpain_cds_requests_total", endpoint="unmatched", status="404") == 1
    assert delta("backpain_cds_requests_total", endpoint="/cds-services", status="401") == 1
    assert delta("backpain_cds_request_seconds_count", endpoint=hook) == 1
    assert delta("backpain_cds_request_seconds_bucket", endpoint=hook, le="+Inf") == 1
    assert delta("backpain_cds_request_seconds_sum", endpoint=hook) > 0
    assert delta("backpain_cds_cards_total", tier="urgent") == 1
    assert delta("backpain_cds_feedback_total", outcome="accepted") == 2
    assert delta("backpain_cds_feedback_total", outcome="overridden") == 2
    assert delta("backpain_cds_feedback_duplicates_total") == 2
    assert delta("backpain_cds_fhir_request_seconds_count", resource="Condition") == 1
    assert delta("backpain_cds_fhir_request_seconds_sum", resource="Observation") == pytest.approx(2.5)
    assert delta("backpain_cds_fhir_errors_total", reason="timeout") == 1
    assert delta("backpain_cds_jwt_rejections_total", reason="replay") == 1
    assert not any(name == "backpain_cds_requests_total" and ("endpoint", "/no/such/path/42") in labels
                   for name, labels in after)


@pytest.mark.parametrize(("sentence", "label"), [
    ("no Authorization header", "missing"),
    ("Authorization header is not a Bearer token", "malformed"),
    ("malformed token (DecodeError)", "malformed"),
    ("algorithm 'HS256' not allowed", "algorithm"),
    ("iss 'https://evil' is not trusted", "issuer"),
    ("jku 'https://x/jwks' not allowlisted for iss 'https://ehr'", "keys"),
    ("no key with that kid fits ES384 (0 with the kid)", "keys"),
    ("signature does not verify", "signature"),
    ("claims rejected (ExpiredSignatureError: Signature has expired)", "expired"),
    ("claims rejected (InvalidAudienceError: Audience doesn't match)", "audience"),
    ("lifetime 7200s over the cap", "lifetime"),
    ("jti already used (replay)", "replay"),
    ("replay", "replay"),
    ("something new", "other"),
])
def test_jwt_rejection_reasons_map_to_a_fixed_label_set(sentence: str, label: str) -> None:
    assert metrics.jwt_reason(sentence) == label
    assert label in metrics.JWT_REASONS


def test_with_several_workers_metrics_add_up_across_processes(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale file from an earlier run")
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    with processes.running(url, tmp_path, count=1, workers=2, env=env) as [service]:
        for _ in range(40):  # a new connection each time, so the kernel hands them to either worker
            assert httpx.get(service.base_url + "/healthz").status_code == 200
        totals = []
        for _ in range(6):
            with httpx.Client(base_url=service.base_url) as client:
                totals.append(value(scrape(client), "backpain_cds_requests_total", endpoint="/healthz", status="200"))
        worker_files = sorted(p.name for p in metrics_dir.glob("counter_*.db"))
    # Whichever worker answers the scrape reports every worker's requests, and the stale file is gone.
    assert totals == [40.0] * 6
    assert worker_files and "counter_999999.db" not in worker_files
