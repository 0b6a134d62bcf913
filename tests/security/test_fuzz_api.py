"""Schemathesis against the app's own /openapi.json: whatever the generated input, never a 5xx.

Runs in the production profile with a fresh valid JWT per example, so the generated bodies reach
validation, data gathering and the engine instead of stopping at the 401. Bounded and deterministic
(``derandomize``) so CI time and results are stable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from service.main import create_app
from service.settings import TrustedIssuer
from tests.support.app import SERVICE_URL, settings_for
from tests.support.tokens import BASE, ISS, claims, ec_key, mint, public_jwk

SERVICE_ID = SERVICE_URL.rsplit("/", 1)[-1]


def _app() -> Any:
    """Built at import because schemathesis parametrizes at collection (its fixture loader breaks here)."""
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    app_settings = settings_for(
        Path(tempfile.mkdtemp(prefix="backpain-fuzz-")),
        profile="production",
        public_base_url=BASE,
        trusted_issuers=[issuer],
        log_level="ERROR",
        docs_enabled=True,  # production hides /openapi.json unless asked; the fuzzer reads it
    )
    return create_app(app_settings)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_A_no_5xx_for_any_generated_request(case: Any) -> None:
    if case.path_parameters and "service_id" in case.path_parameters:
        case.path_parameters["service_id"] = SERVICE_ID  # random ids would only ever test the 404
    token = mint(ec_key(), claims(case.formatted_path))
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
    if response.status_code >= 400 and response.status_code != 401:
        assert response.json()["resourceType"] == "OperationOutcome"
