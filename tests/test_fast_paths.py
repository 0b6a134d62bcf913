"""The hand-tuned hot-path helpers agree with the straightforward standard-library versions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from service.fhir.dates import When, parse_when
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
