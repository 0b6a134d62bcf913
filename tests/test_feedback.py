"""Feedback endpoint (spec J): validation, storage, idempotence, survival across restarts.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.app import SERVICE_URL, client_for, schema_validator, settings_for

FEEDBACK_URL = SERVICE_URL + "/feedback"
OO = schema_validator("operation-outcome.schema.json")

ACCEPTED = {
    "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2026-11-25T10:00:00Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {"code": "already-imaged", "system": "https://example.org/override-reasons"},
        "userComment": "MRI booked at the other site",
    },
    "outcomeTimestamp": "2026-11-25T10:05:00Z",
}


def test_J2_J3_J7_feedback_is_stored_and_answered_200_without_body(tmp_path: Path, database_url: str) -> None:
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED, OVERRIDDEN],
                                                   "hookInstance": "hi-1"})
        assert response.status_code == 200
        assert response.content == b""
        rows = client.app.state.backpain.feedback.all()
    assert [(r["card_uuid"], r["outcome"]) for r in rows] == [
        (ACCEPTED["card"], "accepted"), (OVERRIDDEN["card"], "overridden")]
    assert rows[0]["accepted_suggestions"] == '["e56e1945-20b3-4393-8503-a1a20fd73152"]'
    assert rows[1]["override_code"] == "already-imaged"
    assert rows[1]["user_comment"] == "MRI booked at the other site"
    assert {r["hook_instance"] for r in rows} == {"hi-1"}


def test_J4_duplicate_feedback_is_idempotent(tmp_path: Path, database_url: str) -> None:
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        for _ in range(3):
            assert client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED]}).status_code == 200
        assert client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED, OVERRIDDEN]}).status_code == 200
        assert client.app.state.backpain.feedback.count() == 2


def test_J4_same_card_with_a_later_outcome_is_a_new_item(tmp_path: Path, database_url: str) -> None:
    later = dict(ACCEPTED, outcomeTimestamp="2026-11-25T11:00:00Z")
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED, later]})
        assert client.app.state.backpain.feedback.count() == 2


def test_J_feedback_survives_a_restart_on_the_same_database(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url=database_url)
    with client_for(settings) as client:
        client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED, OVERRIDDEN]})
    with client_for(settings) as client:
        assert client.app.state.backpain.feedback.count() == 2
        client.post(FEEDBACK_URL, json={"feedback": [OVERRIDDEN]})
        assert client.app.state.backpain.feedback.count() == 2


def test_J3_accepted_without_accepted_suggestions_is_400(tmp_path: Path, database_url: str) -> None:
    bad = {k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"}
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [bad]})
        assert response.status_code == 400
        OO.validate(response.json())
        assert client.app.state.backpain.feedback.count() == 0


def test_J3_invalid_items_store_nothing_of_the_batch(tmp_path: Path, database_url: str) -> None:
    bad_outcome = dict(OVERRIDDEN, outcome="ignored")
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        assert client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED, bad_outcome]}).status_code == 400
        assert client.post(FEEDBACK_URL, json={"feedback": []}).status_code == 400
        assert client.post(FEEDBACK_URL, json={"nothing": 1}).status_code == 400
        assert client.app.state.backpain.feedback.count() == 0


def test_J8_override_reason_without_display_is_accepted(tmp_path: Path, database_url: str) -> None:
    item = dict(OVERRIDDEN, overrideReason={"reason": {"code": "x", "system": "https://example.org/r"}})
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        assert client.post(FEEDBACK_URL, json={"feedback": [item]}).status_code == 200


def test_J_feedback_for_unknown_service_is_404(tmp_path: Path, database_url: str) -> None:
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.post("/cds-services/other/feedback", json={"feedback": [ACCEPTED]})
        assert response.status_code == 404
        OO.validate(response.json())
