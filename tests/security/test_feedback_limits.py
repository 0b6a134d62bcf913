"""Feedback limits at the edge (issue 16): item cap, column lengths and control characters.

Each test runs on SQLite and on the real PostgreSQL (``database_url``): the answer must be the same on
both, because a string that one back-end stores and the other refuses is a poison message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.app import SERVICE_URL, client_for, schema_validator, settings_for

FEEDBACK_URL = SERVICE_URL + "/feedback"
OO = schema_validator("operation-outcome.schema.json")


def item(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "https://example.org/r", "code": "already-imaged"},
                           "userComment": "booked"},
        "outcomeTimestamp": "2026-11-25T10:05:00Z",
    }
    base.update(overrides)
    return base


def test_more_items_than_the_cap_get_413_and_nothing_is_stored(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url=database_url, feedback_max_items=3)
    with client_for(settings) as client:
        many = [item(card=f"card-{i}") for i in range(4)]
        response = client.post(FEEDBACK_URL, json={"feedback": many})
        assert response.status_code == 413
        OO.validate(response.json())
        assert "at most 3 feedback items" in response.text
        assert client.app.state.backpain.feedback.count() == 0
        assert client.post(FEEDBACK_URL, json={"feedback": many[:3]}).status_code == 200
        assert client.app.state.backpain.feedback.count() == 3


def test_the_default_cap_is_100(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path)) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [item(card=f"c{i}") for i in range(101)]})
        assert response.status_code == 413


BAD = {
    "NUL in card": item(card="abc\x00def"),
    "NUL in comment": item(overrideReason={"userComment": "MRI\x00booked"}),
    "escape character in code": item(overrideReason={"reason": {"system": "s", "code": "a\x1bb"}}),
    "C1 control in display": item(overrideReason={"reason": {"system": "s", "code": "c", "display": "a\x85b"}}),
    "card longer than its column": item(card="x" * 257),
    "system longer than its column": item(overrideReason={"reason": {"system": "s" * 513, "code": "c"}}),
    "comment over 4000 characters": item(overrideReason={"userComment": "y" * 4001}),
    "timestamp without a UTC form": item(outcomeTimestamp="0001-01-01T00:30:00+01:00"),
    "timestamp past 9999 in UTC": item(outcomeTimestamp="9999-12-31T23:30:00-01:00"),
}


@pytest.mark.parametrize("name", BAD)
def test_invalid_feedback_fields_get_the_same_400_on_every_backend(
    tmp_path: Path, database_url: str, name: str
) -> None:
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [BAD[name]]})
        assert response.status_code == 400, response.text
        OO.validate(response.json())
        assert "\x00" not in response.text
        assert client.app.state.backpain.feedback.count() == 0


def test_values_at_the_column_limits_are_stored_on_every_backend(tmp_path: Path, database_url: str) -> None:
    longest = item(card="c" * 256, overrideReason={
        "reason": {"system": "s" * 512, "code": "k" * 256, "display": "d" * 512},
        "userComment": "line one\nline two\twith a tab " + "ü" * 3900})
    with client_for(settings_for(tmp_path, database_url=database_url)) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [longest], "hookInstance": "h" * 256})
        assert response.status_code == 200, response.text
        rows = client.app.state.backpain.feedback.all()
    assert rows[0]["card_uuid"] == "c" * 256
    assert rows[0]["override_system"] == "s" * 512
    assert rows[0]["user_comment"].endswith("ü" * 3900)
