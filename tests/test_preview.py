"""The card preview page (development only): every fixture case, cards rendered safely."""

from __future__ import annotations

from pathlib import Path

import pytest

import service.api.preview as preview_module
from service.cdshooks.models import Card, Source
from service.engine import Evaluation
from service.fixtures_catalog import list_cases
from tests.support.app import client_for, settings_for


def test_preview_lists_every_fixture_case(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path)) as client:
        response = client.get("/preview")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    cases = list_cases()
    assert cases
    for case in cases:
        assert f'data-case="{case.name}"' in response.text
    assert "(expected" not in response.text, "a case renders a different tier than its case.json says"


def test_preview_is_not_served_in_production(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, profile="production", public_base_url="https://cds.example.org", trusted_issuers=[
        {"iss": "https://ehr.example.org", "jwks": {"keys": []}}])
    with client_for(settings) as client:
        assert client.get("/preview").status_code == 404


@pytest.mark.parametrize(("payload", "shown_as"), [
    ("<script>alert('x')</script>", "&lt;script&gt;"),
    ('<img src="x" onerror="alert(1)">', "&lt;img"),
    ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
])
def test_raw_html_in_card_detail_is_rendered_inert(tmp_path: Path, monkeypatch, payload: str, shown_as: str) -> None:
    card = Card(summary="Test card", indicator="warning", source=Source(label="test"),
                detail=f"Evidence: {payload}")

    def fake_evaluate(*_args, **_kwargs) -> Evaluation:
        return Evaluation(models=[card], tier="C3")

    monkeypatch.setattr(preview_module, "evaluate", fake_evaluate)
    with client_for(settings_for(tmp_path)) as client:
        html = client.get("/preview").text
    assert "<script>alert" not in html
    assert "<img" not in html
    assert 'href="javascript:' not in html
    assert shown_as in html, "the payload is shown to the reviewer as text"
