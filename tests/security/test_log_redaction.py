"""No patient name, birth date, free text, JWT or FHIR access token in any log line (spec F4, K11).

Drives the whole app (production profile, valid JWT) with a patient who has a name, a birth date and
free-text notes, plus feedback with a user comment, a request whose invalid field holds the name, and a
rejected token; then searches everything written to stdout/stderr and every stdlib log record.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.settings import TrustedIssuer
from tests.support.app import SERVICE_URL, client_for, hook_request, settings_for
from tests.support.tokens import BASE, ISS, claims, ec_key, mint, public_jwk

NAME, FAMILY = "Zebedee", "Quixworth"
BIRTH_DATE = "1961-07-23"
NOTE = "wakes at night with unbearable thoracic pain"
COMMENT = "patient declined the MRI on Tuesday"
ACCESS_TOKEN = "fhir-access-token-5f1e9c2a77"


def sensitive_request() -> dict[str, object]:
    patient = {
        "resourceType": "Patient",
        "id": "p-log-1",
        "birthDate": BIRTH_DATE,
        "name": [{"given": [NAME], "family": FAMILY, "text": f"{NAME} {FAMILY}"}],
    }
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p-log-1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "279039007"}], "text": NOTE},
        "note": [{"text": NOTE}],
        "onsetDateTime": "2026-10-01",
    }
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "note": [{"text": NOTE}],
        "code": {"text": "Body temperature"},
        "valueQuantity": {"value": 38.6, "unit": "Cel"},
    }
    return hook_request(
        "p-log-1",
        fhirServer="https://fhir.example.org/r4",
        fhirAuthorization={
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "backpain-cds",
        },
        prefetch={
            "patient": patient,
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": condition}]},
            "observations": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": observation}]},
        },
    )


def test_F4_K11_no_patient_data_or_token_in_any_log_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    settings = settings_for(tmp_path, profile="production", public_base_url=BASE, trusted_issuers=[issuer])
    tokens: list[str] = []

    def bearer(path: str) -> dict[str, str]:
        tokens.append(mint(ec_key(), claims(path)))
        return {"Authorization": f"Bearer {tokens[-1]}"}

    caplog.set_level(logging.DEBUG)
    with client_for(settings) as client:
        statuses = [
            client.post(SERVICE_URL, json=sensitive_request(), headers=bearer(SERVICE_URL)).status_code,
            client.post(
                SERVICE_URL,
                json=hook_request(context={"userId": f"{NAME} {FAMILY}", "patientId": "p"}),
                headers=bearer(SERVICE_URL),
            ).status_code,
            client.post(
                SERVICE_URL + "/feedback",
                headers=bearer(SERVICE_URL + "/feedback"),
                json={
                    "feedback": [
                        {
                            "card": "c1",
                            "outcome": "overridden",
                            "outcomeTimestamp": "2026-11-25T10:00:00Z",
                            "overrideReason": {"userComment": COMMENT},
                        }
                    ]
                },
            ).status_code,
            client.post(
                SERVICE_URL, json=sensitive_request(), headers={"Authorization": f"Bearer {tokens[0]}"}
            ).status_code,
        ]
    assert statuses == [200, 400, 200, 401]  # the last one replays the first token

    out, err = capfd.readouterr()
    records = [f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records]
    everything = "\n".join([out, err, *records])
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]  # log lines are on stderr
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) == len(statuses)  # one structured line per request ...
    assert {"hook_instance", "status", "latency_ms", "tier", "cards", "path"} <= set(access[0])
    assert [line["status"] for line in access] == statuses
    for secret in [NAME, FAMILY, BIRTH_DATE, NOTE, COMMENT, ACCESS_TOKEN, *tokens, *(t.split(".")[2] for t in tokens)]:
        assert secret not in everything, secret
