"""The hand-tuned hot-path helpers agree with the straightforward standard-library versions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.fhir.dates import When, parse_when
from service.markdown import _escape, escape_markdown
from service.orders import NAMESPACE, stable_uuid


@given(st.text(max_size=60), st.lists(st.text(max_size=20), max_size=3))
def test_stable_uuid_is_uuid5(hook_instance: str, parts: list[str]) -> None:
    expected = uuid.uuid5(NAMESPACE, "|".join((hook_instance, *parts)))
    assert stable_uuid(hook_instance, *parts) == str(expected)


@given(st.dates(min_value=date(1, 1, 1)))
def test_date_only_values_are_utc_midnight(day: date) -> None:
    text = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    assert parse_when(text) == When(datetime(day.year, day.month, day.day, tzinfo=UTC), False)


@given(st.datetimes(min_value=datetime(2, 1, 1), timezones=st.just(UTC)))
def test_utc_date_times_keep_their_instant(moment: datetime) -> None:
    parsed = parse_when(moment.isoformat())
    assert parsed == When(moment, True)
    assert parsed is not None and parsed.at.tzinfo is UTC


_MARKDOWN_ALPHABET = st.one_of(
    st.sampled_from(list("aZ09 .:/#-+=>)*_[]<&|~$@\\`\t\n\r\x00\x1f\x7f\x85\xa0\u2028\u202e\u200f\u061cé€")),
    st.characters(),
)


@settings(max_examples=2000)
@given(st.text(alphabet=_MARKDOWN_ALPHABET, max_size=40), st.one_of(st.none(), st.integers(0, 45)))
def test_escape_markdown_fast_path_equals_every_step(text: str, limit: int | None) -> None:
    assert escape_markdown(text, limit) == _escape(text, limit)


@pytest.mark.parametrize("text", ["M54.5", "Condition/c-1", "ICD-10-CM M54.50", "80.0 kg", "weight loss ≥ 5 %"])
def test_plain_values_take_the_fast_path_unchanged(text: str) -> None:
    assert escape_markdown(text) == _escape(text, None) == text


@pytest.mark.parametrize("text", ["1. item", " lead", "trail ", "a  b", "#x", "evil.example", "https://x", "a\tb"])
def test_values_the_steps_change_are_escaped(text: str) -> None:
    assert escape_markdown(text) == _escape(text, None) != text
