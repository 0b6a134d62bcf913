"""Start-up refuses numeric settings outside their documented range; production hides docs and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.main import create_app
from service.security.startup import InsecureSettingsError, check_production_settings
from service.settings import NUMERIC_RANGES, Settings
from tests.support.app import client_for, settings_for
from tests.support.tokens import ISS, ec_key, public_jwk
from tests.support.tokens import settings_for as production_settings


def test_a_nan_deadline_and_a_ten_year_leeway_are_refused_in_one_message() -> None:
    settings = Settings(_env_file=None, fhir_deadline_seconds=float("nan"),  # type: ignore[call-arg]
                        jwt_leeway_seconds=10 * 365 * 86_400)
    with pytest.raises(InsecureSettingsError) as caught:
        check_production_settings(settings)
    message = str(caught.value)
    assert "BACKPAIN_CDS_FHIR_DEADLINE_SECONDS=nan is outside 0.1..30" in message
    assert "BACKPAIN_CDS_JWT_LEEWAY_SECONDS=315360000 is outside 0..300" in message


def test_nan_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BACKPAIN_CDS_FHIR_DEADLINE_SECONDS", "nan")
    monkeypatch.setenv("BACKPAIN_CDS_HTTP_KEEP_ALIVE_SECONDS", "inf")
    monkeypatch.setenv("BACKPAIN_CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(InsecureSettingsError, match=r"FHIR_DEADLINE_SECONDS=nan.*\n.*KEEP_ALIVE_SECONDS=inf"):
        create_app(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(NUMERIC_RANGES))
def test_every_numeric_setting_has_a_range_its_default_satisfies(name: str) -> None:
    low, high = NUMERIC_RANGES[name]
    default = Settings.model_fields[name].default
    assert low <= default <= high
    with pytest.raises(InsecureSettingsError, match=f"BACKPAIN_CDS_{name.upper()}="):
        check_production_settings(Settings(_env_file=None, **{name: high * 2 + 1}))  # type: ignore[call-arg]


def test_every_numeric_setting_is_ranged() -> None:
    numeric = {name for name, field in Settings.model_fields.items() if field.annotation in (int, float)}
    assert numeric == set(NUMERIC_RANGES)


def _production(tmp_path: Path, **overrides: object) -> Settings:
    from service.settings import TrustedIssuer

    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    return production_settings(issuer, database_url=f"sqlite:///{tmp_path / 'p.db'}", **overrides)


def test_production_hides_metrics_docs_and_openapi(tmp_path: Path) -> None:
    with client_for(_production(tmp_path)) as client:
        for path in ("/metrics", "/docs", "/openapi.json", "/redoc"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200


def test_production_serves_metrics_and_docs_when_a_setting_asks(tmp_path: Path) -> None:
    with client_for(_production(tmp_path, metrics_enabled=True, docs_enabled=True)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_development_serves_metrics_and_docs_by_default(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 200
