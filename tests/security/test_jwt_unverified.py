"""The routing parse of a token (``unverified_parts``) reads what PyJWT reads and fails only as ValueError."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.security.jwt import unverified_parts

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)
# PyJWT also refuses a non-string kid at parse time; the authenticator refuses it right after the parse.
headers = objects.map(lambda header: {key: value for key, value in header.items() if key != "kid"})


def _b64(value: Any, padded: bool) -> str:
    raw = base64.urlsafe_b64encode(orjson.dumps(value)).decode()
    return raw if padded else raw.rstrip("=")


@settings(max_examples=300, deadline=None)
@given(header=headers, payload=objects, padded=st.booleans())
def test_agrees_with_pyjwt_on_well_formed_tokens(header: dict[str, Any], payload: dict[str, Any], padded: bool) -> None:
    token = f"{_b64(header, padded)}.{_b64(payload, padded)}.c2ln"
    ours = unverified_parts(token)
    theirs = jwt.api_jwt.decode_complete(token, options={"verify_signature": False})
    assert ours == (theirs["header"], theirs["payload"])


@settings(max_examples=500, deadline=None)
@given(token=st.text(max_size=60) | st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_garbage_fails_as_value_error_only(token: str) -> None:
    try:
        header, payload = unverified_parts(token)
    except ValueError:
        return
    assert isinstance(header, dict) and isinstance(payload, dict)


@pytest.mark.parametrize(
    "token",
    [
        "a.b",  # two segments
        "a.b.c.d",
        f"{_b64([1], False)}.{_b64({}, False)}.x",  # header not an object
        f"{_b64({}, False)}.{_b64('s', False)}.x",  # payload not an object
        f"{_b64({}, False)}!.{_b64({}, False)}.x",  # outside the alphabet
        f"{_b64({}, False)}===.{_b64({}, False)}.x",  # too much padding
        "é." * 2 + "x",
    ],
)
def test_malformed_tokens_refused(token: str) -> None:
    with pytest.raises(ValueError):
        unverified_parts(token)
