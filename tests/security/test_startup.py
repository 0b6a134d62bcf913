"""check_production_settings: production refuses to start open, and says why."""

from __future__ import annotations

import json

import pytest

from service.security.startup import InsecureSettingsError, check_production_settings
from service.settings import Settings, TrustedIssuer
from tests.support.tokens import ISS, JKU, settings_for

GOOD = TrustedIssuer(iss=ISS, jwks_url=JKU, jku=[JKU])


def test_K1_production_with_a_trusted_issuer_starts() -> None:
    check_production_settings(settings_for(GOOD))
    check_production_settings(settings_for(GOOD, cors_origins=[]))


def test_K1_production_without_trusted_issuer_refused_with_reason() -> None:
    with pytest.raises(InsecureSettingsError, match="BACKPAIN_CDS_TRUSTED_ISSUERS"):
        check_production_settings(settings_for())


def test_L3_production_with_wildcard_cors_refused() -> None:
    with pytest.raises(InsecureSettingsError, match=r"'\*'"):
        check_production_settings(settings_for(GOOD, cors_origins=["*"]))


def test_production_with_http_key_url_or_base_url_refused() -> None:
    with pytest.raises(InsecureSettingsError, match="must be https") as caught:
        check_production_settings(settings_for(TrustedIssuer(iss=ISS, jwks_url="http://ehr.example/jwks")))
    assert "PUBLIC_BASE_URL" not in str(caught.value)
    with pytest.raises(InsecureSettingsError, match="PUBLIC_BASE_URL"):
        check_production_settings(settings_for(GOOD, public_base_url="http://cds.example"))


@pytest.mark.parametrize("alg", ["none", "HS256", "ES999"])
def test_K9_forbidden_algorithm_refused_in_every_profile(alg: str) -> None:
    with pytest.raises(InsecureSettingsError, match=alg):
        check_production_settings(settings_for(profile="development", jwt_algorithms=["ES384", alg]))


def test_development_without_issuers_starts() -> None:
    check_production_settings(settings_for(profile="development", cors_origins=["*"]))


def test_issuer_without_keys_refused() -> None:
    with pytest.raises(InsecureSettingsError, match="no jwks"):
        check_production_settings(settings_for(TrustedIssuer(iss=ISS)))


def test_trusted_issuers_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = [{"iss": ISS, "jwks_url": JKU, "jku": [JKU], "tenant": "org-1"}]
    monkeypatch.setenv("BACKPAIN_CDS_TRUSTED_ISSUERS", json.dumps(raw))
    monkeypatch.setenv("BACKPAIN_CDS_PROFILE", "production")
    monkeypatch.setenv("BACKPAIN_CDS_PUBLIC_BASE_URL", "https://cds.example")
    settings = Settings(_env_file=None)
    assert settings.trusted_issuers == [TrustedIssuer.model_validate(raw[0])]
    check_production_settings(settings)
