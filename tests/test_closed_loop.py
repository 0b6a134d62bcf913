"""Closed loop (issue 18): every card recorded, snooze honoured (and expiring), across restarts and replicas.

Every test runs on SQLite and on PostgreSQL (``database_url``); the clock is the service's own abstraction.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, select
from sqlalchemy.exc import OperationalError

from service.storage.cards import CardLog
from service.storage.db import make_engine
from tests.support.app import SERVICE_URL, client_for, settings_for
from tests.support.closed_loop import (
    FAMILY,
    GIVEN,
    MovingClock,
    accept,
    case_for,
    hook_body,
    issued_rows,
    kind_of,
    order_body,
    order_case,
    override,
)
from tests.support.engine import knowledge

FEEDBACK_URL = SERVICE_URL + "/feedback"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PATIENT = "snooze-pat-1"
HL7_SYSTEM = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
ORDER_URLS = {"order-select": "/cds-services/back-pain-imaging-order-select",
              "order-sign": "/cds-services/back-pain-imaging-order-sign"}
_INSTANCES = itertools.count(1)  # every chart opening is a new hook instance, hence a new card uuid


class Service:
    """One app instance (a replica) on a shared database and clock."""

    def __init__(self, client: TestClient, clock: MovingClock) -> None:
        self.client, self.clock = client, clock

    def open_chart(self, tier: str, patient: str = PATIENT) -> list[dict[str, Any]]:
        hook_instance = f"hi-{next(_INSTANCES)}"
        body = hook_body(case_for(tier), knowledge().service, patient, self.clock.now, hook_instance)
        response = self.client.post(SERVICE_URL, json=body)
        assert response.status_code == 200, response.text
        cards: list[dict[str, Any]] = response.json()["cards"]
        return cards

    def flush(self) -> None:
        """Cards that need no verdict are written in a batch after the answer (card_batch.py): wait for them."""
        assert self.client.app.state.backpain.card_log.flush(5.0)  # type: ignore[attr-defined]

    def feedback(self, *items: dict[str, Any]) -> None:
        assert self.client.post(FEEDBACK_URL, json={"feedback": list(items)}).status_code == 200

    def order(self, case_name: str, patient: str = PATIENT) -> tuple[str, list[dict[str, Any]]]:
        """Post the order case about ``patient`` (a new hook instance); its service URL and the cards answered."""
        case = order_case(case_name)
        body = order_body(case, knowledge().service, patient, self.clock.now, f"hi-order-{next(_INSTANCES)}")
        url = ORDER_URLS[body["hook"]]
        response = self.client.post(url, json=body)
        assert response.status_code == 200, response.text
        cards: list[dict[str, Any]] = response.json()["cards"]
        return url, cards

    def order_feedback(self, url: str, *items: dict[str, Any]) -> None:
        response = self.client.post(url + "/feedback", json={"feedback": list(items)})
        assert response.status_code == 200 and response.content == b""


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(T0)


@pytest.fixture
def replicas(tmp_path: Path, database_url: str, clock: MovingClock) -> Iterator[list[Service]]:
    """Two app instances on the same database, as two replicas behind a load balancer."""
    settings = settings_for(tmp_path, database_url=database_url)
    with ExitStack() as stack:
        yield [Service(stack.enter_context(client_for(settings, clock=clock, knowledge=knowledge())), clock)
               for _ in range(2)]


def _rows(database_url: str, *services: Service) -> list[dict[str, Any]]:
    for service in services:
        service.flush()
    return issued_rows(database_url)


def test_every_card_is_recorded_with_tier_suggestion_kinds_and_knowledge_version(
    replicas: list[Service], database_url: str
) -> None:
    a, _ = replicas
    [card] = a.open_chart("C3")
    [row] = _rows(database_url, a)
    assert (row["card_uuid"], row["tier"], row["snoozed"]) == (card["uuid"], "C3", False)
    assert row["knowledge_version"] == knowledge().version and row["knowledge_version"].startswith("sha256:")
    kinds = dict(json.loads(row["suggestions"]))
    assert set(kinds) == {s["uuid"] for s in card["suggestions"]}
    assert kinds == {s["uuid"]: kind_of(s) for s in card["suggestions"]}
    assert {"mri", "referral"} <= set(kinds.values())
    assert row["patient_key"] is not None and len(row["patient_key"]) == 64


def test_override_reasons_carry_hl7_codes_and_snooze_only_on_info_tiers(replicas: list[Service]) -> None:
    a, _ = replicas
    [c4] = a.open_chart("C4")
    [c1] = a.open_chart("C1", patient="other-pat")
    c4_codes = {(r["system"], r["code"]) for r in c4["overrideReasons"]}
    assert (HL7_SYSTEM, "action-completed") in c4_codes
    assert (HL7_SYSTEM, "patient-refuses") in c4_codes
    assert ("https://backpain-cds.example.org/fhir/CodeSystem/override-reason", "snooze") in c4_codes
    assert "snooze" not in {r["code"] for r in c1["overrideReasons"]}
    assert all(r["display"] for r in c4["overrideReasons"] + c1["overrideReasons"])
    snooze = next(r for r in c4["overrideReasons"] if r["code"] == "snooze")
    assert "30 days" in snooze["display"]


def test_snooze_suppresses_the_tier_then_expires(replicas: list[Service], clock: MovingClock) -> None:
    a, _ = replicas
    [card] = a.open_chart("C4")
    a.feedback(override(card, "snooze", clock.now))
    clock.advance(minutes=5)
    assert a.open_chart("C4") == []
    clock.advance(days=29, hours=23, minutes=54)  # 29 days 23 h 59 min after the snooze: still held back
    assert a.open_chart("C4") == []
    clock.advance(minutes=1)  # 30 days after it: shown again
    assert [c["summary"] for c in a.open_chart("C4")] == [card["summary"]]
    assert a.open_chart("C4", patient="another-pat") != []


def test_a_higher_tier_breaks_through_and_the_snoozed_tier_stays_held_back(
    replicas: list[Service], clock: MovingClock
) -> None:
    a, _ = replicas
    [c4] = a.open_chart("C4")
    a.feedback(override(c4, "snooze", clock.now))
    clock.advance(hours=1)
    [c2] = a.open_chart("C2")
    assert c2["indicator"] == "warning" and c2["uuid"] != c4["uuid"]
    assert a.open_chart("C4") == []


def test_a_snooze_on_one_replica_holds_on_the_other(replicas: list[Service], clock: MovingClock) -> None:
    a, b = replicas
    [card] = b.open_chart("C4")
    a.feedback(override(card, "snooze", clock.now))
    clock.advance(minutes=1)
    assert b.open_chart("C4") == []
    assert a.open_chart("C4") == []


def test_the_snooze_survives_a_restart(tmp_path: Path, database_url: str, clock: MovingClock) -> None:
    settings = settings_for(tmp_path, database_url=database_url)
    with client_for(settings, clock=clock, knowledge=knowledge()) as client:
        service = Service(client, clock)
        [card] = service.open_chart("C4")
        service.feedback(override(card, "snooze", clock.now))
    clock.advance(days=3)
    with client_for(settings, clock=clock, knowledge=knowledge()) as client:
        assert Service(client, clock).open_chart("C4") == []


def test_other_reasons_and_forged_snoozes_do_not_suppress(replicas: list[Service], clock: MovingClock) -> None:
    a, _ = replicas
    [c4] = a.open_chart("C4")
    a.feedback(override(c4, "patient-refuses", clock.now), override(c4, None, clock.now),
               override(c4, "snooze", clock.now, system="https://example.org/other-system"))
    clock.advance(minutes=1)
    assert len(a.open_chart("C4")) == 1
    # An emergency card offers no snooze; a client that sends one anyway is not obeyed.
    [c1] = a.open_chart("C1")
    local = "https://backpain-cds.example.org/fhir/CodeSystem/override-reason"
    a.feedback(override(c1, "snooze", clock.now, system=local))
    clock.advance(minutes=1)
    assert len(a.open_chart("C1")) == 1


def test_a_snooze_stamped_in_the_future_starts_nothing(replicas: list[Service], clock: MovingClock) -> None:
    a, _ = replicas
    [c4] = a.open_chart("C4")
    a.feedback(override(c4, "snooze", datetime(2027, 1, 1, tzinfo=UTC)))
    assert len(a.open_chart("C4")) == 1


def test_rotated_secret_still_finds_the_snooze_and_a_dropped_one_does_not(
    tmp_path: Path, database_url: str, clock: MovingClock
) -> None:
    old = settings_for(tmp_path, database_url=database_url, patient_key_secret="first-secret")
    rotated = settings_for(tmp_path, database_url=database_url, patient_key_secret="second-secret",
                           patient_key_previous_secrets="first-secret")
    dropped = settings_for(tmp_path, database_url=database_url, patient_key_secret="second-secret")
    with client_for(old, clock=clock, knowledge=knowledge()) as client:
        service = Service(client, clock)
        [card] = service.open_chart("C4")
        service.feedback(override(card, "snooze", clock.now))
    clock.advance(days=1)
    with client_for(rotated, clock=clock, knowledge=knowledge()) as client:
        assert Service(client, clock).open_chart("C4") == []
    clock.advance(days=1)
    with client_for(dropped, clock=clock, knowledge=knowledge()) as client:
        assert len(Service(client, clock).open_chart("C4")) == 1
    keys = {row["patient_key"] for row in _rows(database_url)}
    assert len(keys) == 2  # first secret, then second secret (rotated and dropped agree)


def test_the_database_holds_no_patient_id_name_or_birth_date_in_clear(
    replicas: list[Service], database_url: str, clock: MovingClock
) -> None:
    a, b = replicas
    patients = ["pat-4711-zeta", "pat-0815-omega"]
    birth_dates = set()
    for n, patient in enumerate(patients):
        for tier in ("C1", "C3", "C4"):
            cards = (a if n else b).open_chart(tier, patient=patient)
            a.feedback(override(cards[0], "cds-not-applicable", clock.now) if tier == "C4"
                       else accept(cards[0], clock.now))
        body = hook_body(case_for("C3"), knowledge().service, patient, clock.now, "x")
        birth_dates.add(body["prefetch"]["patient"]["birthDate"])
    forbidden = [*patients, FAMILY, GIVEN, *birth_dates]
    a.flush(), b.flush()
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        values: list[str] = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    values += [str(v) for v in row]
    finally:
        engine.dispose()
    assert len(values) > 50
    leaks = [(word, v) for v in values for word in forbidden if word.lower() in v.lower()]
    assert leaks == []


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_storage_error_in_development_answers_the_card_and_counts_it(
    replicas: list[Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = replicas

    def broken(*_: object, **__: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(CardLog, "issue", broken)
    before = _metric("backpain_cds_card_record_failures_total")
    assert len(a.open_chart("C4")) == 1
    assert _metric("backpain_cds_card_record_failures_total") == before + 1


def test_storage_error_when_strict_fails_the_request_like_the_replay_cache(
    tmp_path: Path, clock: MovingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(CardLog, "issue", broken)
    with client_for(settings_for(tmp_path, card_record_strict=True), clock=clock, knowledge=knowledge()) as client:
        body = hook_body(case_for("C4"), knowledge().service, PATIENT, clock.now, "hi-strict")
        response = client.post(SERVICE_URL, json=body)
    # 503 (was 500): the waiting path goes through run_bounded, which maps a database that is unavailable to
    # DatabaseUnavailable, as for the replay cache.
    assert response.status_code == 503
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Traceback" not in response.text


@pytest.mark.parametrize("strict", [True, False])
def test_a_hung_database_on_the_waiting_path_gives_503_when_strict_and_the_card_otherwise(
    tmp_path: Path, clock: MovingClock, monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    """The snoozable tier waits for its record, bounded by the statement timeout: never a hung request."""
    release = threading.Event()

    def hung(*_: object, **__: object) -> bool:
        release.wait(10)
        return False

    monkeypatch.setattr(CardLog, "issue", hung)
    settings = settings_for(tmp_path, card_record_strict=strict, database_statement_timeout_seconds=0.3)
    before = _metric("backpain_cds_card_record_failures_total")
    try:
        with client_for(settings, clock=clock, knowledge=knowledge()) as client:
            body = hook_body(case_for("C4"), knowledge().service, PATIENT, clock.now, f"hi-hung-{strict}")
            response = client.post(SERVICE_URL, json=body)
    finally:
        release.set()
    if strict:
        assert response.status_code == 503 and "did not answer within 0.3 s" in response.text
    else:
        assert response.status_code == 200 and len(response.json()["cards"]) == 1
    assert _metric("backpain_cds_card_record_failures_total") == before + 1


def test_snoozed_cards_and_feedback_outcomes_are_counted_by_tier(
    replicas: list[Service], clock: MovingClock
) -> None:
    a, _ = replicas
    snoozed = _metric("backpain_cds_cards_snoozed_total", tier="C4")
    overridden = _metric("backpain_cds_card_outcomes_total", tier="C4", outcome="overridden")
    accepted = _metric("backpain_cds_card_outcomes_total", tier="C3", outcome="accepted")
    [c4] = a.open_chart("C4")
    [c3] = a.open_chart("C3", patient="pat-c3")
    a.feedback(override(c4, "snooze", clock.now), accept(c3, clock.now))
    clock.advance(minutes=1)
    assert a.open_chart("C4") == []
    assert _metric("backpain_cds_cards_snoozed_total", tier="C4") == snoozed + 1
    assert _metric("backpain_cds_card_outcomes_total", tier="C4", outcome="overridden") == overridden + 1
    assert _metric("backpain_cds_card_outcomes_total", tier="C3", outcome="accepted") == accepted + 1


def test_an_urgent_card_is_answered_even_when_strict_and_its_record_fails(
    tmp_path: Path, clock: MovingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiers that cannot be snoozed are recorded after the answer: a failure there is counted, never a 500."""

    def broken(*_: object, **__: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(CardLog, "_record_many", broken)
    before = _metric("backpain_cds_card_record_failures_total")
    with client_for(settings_for(tmp_path, card_record_strict=True), clock=clock, knowledge=knowledge()) as client:
        body = hook_body(case_for("C1"), knowledge().service, PATIENT, clock.now, "hi-strict-c1")
        response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 200 and len(response.json()["cards"]) == 1
    assert _metric("backpain_cds_card_record_failures_total") == before + 1


def test_patient_keys_are_keyed_per_issuer_and_absent_in_production_without_a_secret(tmp_path: Path) -> None:
    from service.storage.pseudonym import PatientKeys

    development = PatientKeys.from_settings(settings_for(tmp_path))
    assert development.enabled
    key = development.current("https://ehr-a.example", PATIENT)
    assert key is not None and PATIENT not in key and len(key) == 64
    assert key != development.current("https://ehr-b.example", PATIENT)
    assert key != PatientKeys("another-secret").current("https://ehr-a.example", PATIENT)
    production = PatientKeys.from_settings(settings_for(tmp_path, profile="production"))
    assert not production.enabled
    assert production.current(None, PATIENT) is None and production.candidates(None, PATIENT) == []


# --- order-select / order-sign cards in the card record (issue 19) ------------------------------------------

SELECT_URL = ORDER_URLS["order-select"]
PAMA = "C1M--in--order-select-pama-ct-draft-gets-whole-spine-mri"
EARLY_SELECT = "C3--out--order-select-early-mri-without-red-flags"
EARLY_SIGN = "C3--out--order-sign-early-ct-without-red-flags"


def test_order_cards_are_recorded_under_their_service_and_their_feedback_joins_them(
    replicas: list[Service], database_url: str, clock: MovingClock
) -> None:
    a, b = replicas
    select_url, [mismatch] = a.order(PAMA)
    _, [early] = b.order(EARLY_SELECT, patient="early-pat")
    sign_url, [signed] = a.order(EARLY_SIGN, patient="sign-pat")
    rows = {row["card_uuid"]: row for row in _rows(database_url, a, b)}
    assert {u: (r["service_id"], r["tier"], r["snoozed"]) for u, r in rows.items()} == {
        mismatch["uuid"]: ("back-pain-imaging-order-select", "order/C1M", False),
        early["uuid"]: ("back-pain-imaging-order-select", "order/none", False),
        signed["uuid"]: ("back-pain-imaging-order-sign", "order/none", False),
    }
    assert dict(json.loads(rows[mismatch["uuid"]]["suggestions"])) == {mismatch["suggestions"][0]["uuid"]: "mri"}
    assert json.loads(rows[early["uuid"]]["suggestions"]) == []
    assert all(r["patient_key"] is not None and r["knowledge_version"] == knowledge().version for r in rows.values())

    overridden = _metric("backpain_cds_card_outcomes_total", tier="order/none", outcome="overridden")
    accepted = _metric("backpain_cds_card_outcomes_total", tier="order/C1M", outcome="accepted")
    gap = override(early, "red-flag-not-in-record", clock.now)
    assert gap["overrideReason"]["reason"]["system"] == "https://backpain-cds.example.org/fhir/CodeSystem/override-reason"
    b.order_feedback(select_url, gap, accept(mismatch, clock.now))
    b.order_feedback(sign_url, override(signed, "cds-not-applicable", clock.now))
    # Each item is linked to its card's record: found by (service id, card uuid), so counted under its tier.
    assert _metric("backpain_cds_card_outcomes_total", tier="order/none", outcome="overridden") == overridden + 2
    assert _metric("backpain_cds_card_outcomes_total", tier="order/C1M", outcome="accepted") == accepted + 1
    engine = make_engine(database_url)
    try:
        joined = CardLog(engine).feedback_for((r["service_id"], u) for u, r in rows.items())
    finally:
        engine.dispose()
    assert {(f["service_id"], f["card_uuid"], f["outcome"], f["override_code"]) for f in joined} == {
        ("back-pain-imaging-order-select", early["uuid"], "overridden", "red-flag-not-in-record"),
        ("back-pain-imaging-order-select", mismatch["uuid"], "accepted", None),
        ("back-pain-imaging-order-sign", signed["uuid"], "overridden", "cds-not-applicable"),
    }


def test_a_chart_snooze_never_holds_back_an_order_time_warning(
    replicas: list[Service], database_url: str, clock: MovingClock
) -> None:
    """Decision (issue 19): a snooze at chart opening is about that card; at the moment of ordering the service
    still warns. Order cards offer no snooze, and one sent anyway for an order card is not obeyed."""
    a, b = replicas
    [chart] = a.open_chart("C4")
    a.feedback(override(chart, "snooze", clock.now))
    clock.advance(minutes=5)
    assert a.open_chart("C4") == []  # the snooze holds at chart opening
    _, [early] = b.order(EARLY_SELECT)
    _, [mismatch] = a.order(PAMA)
    assert "snooze" not in {r["code"] for r in early["overrideReasons"] + mismatch["overrideReasons"]}
    local = "https://backpain-cds.example.org/fhir/CodeSystem/override-reason"
    forged = override(early, "snooze", clock.now, system=local)
    b.order_feedback(SELECT_URL, forged)
    clock.advance(minutes=5)
    _, again = a.order(EARLY_SELECT)
    assert [c["summary"] for c in again] == [early["summary"]]
    order_rows = [r for r in _rows(database_url, a, b) if r["service_id"] != knowledge().service.id]
    assert len(order_rows) == 3 and not any(r["snoozed"] for r in order_rows)


def test_an_order_card_is_answered_when_strict_and_its_record_fails(
    tmp_path: Path, clock: MovingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order cards are recorded after the answer, like urgent chart cards: a failure is counted, never a 500."""

    def broken(*_: object, **__: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(CardLog, "_record_many", broken)
    before = _metric("backpain_cds_card_record_failures_total")
    with client_for(settings_for(tmp_path, card_record_strict=True), clock=clock, knowledge=knowledge()) as client:
        _, cards = Service(client, clock).order(PAMA)
    assert len(cards) == 1 and cards[0]["indicator"] == "critical"
    assert _metric("backpain_cds_card_record_failures_total") == before + 1
