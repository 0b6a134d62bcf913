"""Builds the app for tests: a temporary SQLite file, development profile unless told otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SERVICE_URL = "/cds-services/back-pain-red-flags"


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path / 'cds.db'}", "log_json": True}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def client_for(settings: Settings, **app_kwargs: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings, **app_kwargs), raise_server_exceptions=False) as client:
        yield client


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def hook_request(patient_id: str = "p-test-1", **overrides: Any) -> dict[str, Any]:
    """A minimal valid patient-view request with an empty (but complete) prefetch."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": patient_id, "birthDate": "1960-01-01"},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "total": 0},
        },
    }
    body.update(overrides)
    return body


def walk_no_empty(value: Any, path: str = "$") -> list[str]:
    """Paths of every null or empty member (spec A2/A3), except the top-level card/service lists."""
    bad: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            if item is None or item in ("", [], {}):
                if child not in ("$.cards", "$.services"):
                    bad.append(child)
            else:
                bad.extend(walk_no_empty(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            bad.extend(walk_no_empty(item, f"{path}[{index}]"))
    return bad
