"""The access-log line says how much evidence only the keyword fallback found, instead of a line of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.bench.bodies import small_body, typical_body
from service.knowledge import load_knowledge
from service.paths import knowledge_dir
from tests.support.app import SERVICE_URL, client_for, settings_for

pytestmark = pytest.mark.usefixtures("shared_synthea")


def _access_lines(err: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


def test_keyword_evidence_is_counted_on_the_access_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    spec = load_knowledge(knowledge_dir()).service
    with client_for(settings_for(tmp_path)) as client:
        capfd.readouterr()
        for body in (typical_body(spec), small_body(spec)):
            response = client.post(SERVICE_URL, content=body.payload, headers={"Content-Type": "application/json"})
            assert response.status_code == 200 and response.json()["cards"]
    err = capfd.readouterr().err
    typical, small = _access_lines(err)
    # The typical body's cancer history is found by its text (keyword fallback), the small body's flag by codes.
    assert isinstance(typical["keyword_hits"], int) and typical["keyword_hits"] > 0
    assert small["keyword_hits"] == 0
    assert "keyword fallback matched" not in err  # no second, unstructured line per request
