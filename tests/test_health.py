"""Probes: ``/readyz`` follows the database and the knowledge; ``/healthz`` only says the process lives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from service.storage.db import make_engine
from tests.support.app import client_for, schema_validator, settings_for

OO = schema_validator("operation-outcome.schema.json")


def test_ready_when_the_database_answers_and_knowledge_is_loaded(tmp_path: Path, database_url: str) -> None:
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "service": "back-pain-red-flags"}


def test_not_ready_but_alive_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path)) as client:
        state = client.app.state.backpain  # type: ignore[attr-defined]
        state.engine = make_engine("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
        response = client.get("/readyz")
        assert response.status_code == 503
        OO.validate(response.json())
        assert response.json()["issue"][0]["code"] == "transient"
        assert client.get("/healthz").status_code == 200


def test_not_ready_without_loaded_knowledge(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path)) as client:
        state = client.app.state.backpain  # type: ignore[attr-defined]
        empty = state.knowledge.service.model_copy(update={"id": ""})
        state.knowledge = dataclasses.replace(state.knowledge, service=empty)
        response = client.get("/readyz")
        assert response.status_code == 503
        OO.validate(response.json())
