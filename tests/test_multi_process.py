"""Several service processes on one database (SQLite file, then PostgreSQL): what replicas must share.

Each back-end gets one pair of processes started at the same moment on an empty database, which is
itself the migration race; the kill test starts its own pair because it kills one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from service.storage.db import make_engine
from service.storage.feedback import FeedbackStore
from service.storage.migrate import current_revision, head_revision
from tests.support import processes
from tests.support.postgres import PostgresServer
from tests.support.processes import ServiceProcess
from tests.support.tokens import BASE, ISS, claims, ec_key, mint, public_jwk, public_pem

FEEDBACK_PATH = "/cds-services/back-pain-red-flags/feedback"
Pair = tuple[str, list[ServiceProcess]]
# Development profile: a token is verified when one is sent; the issuer's key is given inline.
AUTH_ENV = {
    "BACKPAIN_CDS_PUBLIC_BASE_URL": BASE,
    "BACKPAIN_CDS_TRUSTED_ISSUERS": json.dumps(
        [{"iss": ISS, "jwks": {"keys": [public_jwk(ec_key("pair"), "k1", "ES384")]}}]
    ),
}
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


def _new_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'cds.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(scope="module", params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    directory = tmp_path_factory.mktemp("pair")
    url = _new_database(request.param, request, directory)
    with processes.running(url, directory, count=2, env=AUTH_ENV) as services:
        yield url, services


def item(n: int) -> dict[str, Any]:
    body: dict[str, Any] = {"card": f"card-{n:05d}", "outcomeTimestamp": "2026-11-25T10:00:00Z"}
    if n % 2:
        return {**body, "outcome": "overridden", "overrideReason": {"userComment": f"comment {n}"}}
    return {**body, "outcome": "accepted", "acceptedSuggestions": [{"id": f"s-{n}"}]}


def test_two_processes_starting_at_once_on_an_empty_database_migrate_it_once(pair: Pair) -> None:
    url, services = pair
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
    assert all(httpx.get(s.base_url + "/readyz").status_code == 200 for s in services)


def test_a_token_accepted_by_one_process_is_refused_as_a_replay_by_the_other(
    pair: Pair, tmp_path: Path
) -> None:
    url, _ = pair
    signing_key = ec_key("replay-workers")
    key = tmp_path / "public.pem"
    key.write_bytes(public_pem(signing_key))

    def workers(tokens: list[str], count: int) -> list[list[str]]:
        path = tmp_path / f"tokens-{len(tokens)}.json"
        path.write_text(json.dumps(tokens))
        start_at = str(time.time() + 1.5)
        args = [sys.executable, "-m", "tests.support.replay_worker", url, str(key), str(path), start_at]
        running = [subprocess.Popen(args, stdout=subprocess.PIPE, cwd=processes.REPO) for _ in range(count)]
        return [json.loads(p.communicate(timeout=60)[0]) for p in running]

    tokens = [mint(signing_key, claims()) for _ in range(20)]
    [first] = workers(tokens, 1)
    [second] = workers(tokens, 1)
    assert len(first) == 20 and second == []
    racing = [mint(signing_key, claims()) for _ in range(300)]
    a, b = workers(racing, 2)
    assert sorted(a + b) == sorted(jwt_id(t) for t in racing)  # each accepted by exactly one process
    assert not set(a) & set(b)


def test_over_http_a_token_accepted_by_one_process_is_a_401_replay_at_the_other(pair: Pair) -> None:
    _, (first, second) = pair
    path = "/cds-services/back-pain-red-flags"
    body = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/x", "patientId": "p1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"},
                         "conditions": None}}
    token = mint(ec_key("pair"), claims(path))
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(first.base_url + path, json=body, headers=headers).status_code == 200
    replayed = httpx.post(second.base_url + path, json=body, headers=headers)
    assert replayed.status_code == 401 and replayed.content == b""
    assert httpx.post(first.base_url + path, json=body, headers=headers).status_code == 401
    fresh = {"Authorization": f"Bearer {mint(ec_key('pair'), claims(path))}"}
    assert httpx.post(second.base_url + path, json=body, headers=fresh).status_code == 200
    scraped = httpx.get(second.base_url + "/metrics").text
    assert 'backpain_cds_jwt_rejections_total{reason="replay"} 1.0' in scraped


def jwt_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


async def _post_all(services: list[ServiceProcess], batches: list[list[dict[str, Any]]], concurrency: int = 32,
                    on_ack: Any = None) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Post each batch to the services in turn; returns (acknowledged, failed) batches."""
    acked: list[list[dict[str, Any]]] = []
    failed: list[list[dict[str, Any]]] = []
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(index: int, batch: list[dict[str, Any]]) -> None:
            service = services[index % len(services)]
            async with limit:
                try:
                    response = await client.post(service.base_url + FEEDBACK_PATH, json={"feedback": batch})
                except httpx.TransportError:
                    failed.append(batch)
                    return
            if response.status_code == 200:
                acked.append(batch)
                if on_ack is not None:
                    on_ack(service, len(acked))
            else:
                failed.append(batch)

        await asyncio.gather(*(post(i, b) for i, b in enumerate(batches)))
    return acked, failed


def test_feedback_posted_concurrently_to_both_processes_is_stored_exactly_once(
    pair: Pair,
) -> None:
    url, services = pair
    distinct = [item(n) for n in range(2000)]
    batches = [distinct[i : i + 4] for i in range(0, 2000, 4)]
    # Duplicates: 150 batches again, regrouped so a duplicate shares a request with a new item's twin.
    again = [distinct[i] for i in range(0, 2000, 4)] + [distinct[i] for i in range(3, 2000, 8)]
    batches += [again[i : i + 5] for i in range(0, len(again), 5)]
    started = time.perf_counter()
    acked, failed = asyncio.run(_post_all(services, batches))
    elapsed = time.perf_counter() - started
    posted = sum(len(b) for b in batches)
    print(f"{posted} feedback items ({posted - 2000} duplicates) in {elapsed:.2f}s: {posted / elapsed:.0f} items/s")
    assert failed == [] and len(acked) == len(batches)
    engine = make_engine(url)
    try:
        rows = FeedbackStore(engine).all()
    finally:
        engine.dispose()
    assert len(rows) == 2000
    assert sorted(r["card_uuid"] for r in rows) == [f"card-{n:05d}" for n in range(2000)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_one_process_mid_load_loses_no_acknowledged_feedback(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _new_database(backend, request, tmp_path)
    batches = [[item(n) for n in range(i, i + 4)] for i in range(0, 1200, 4)]
    with processes.running(url, tmp_path, count=2) as (victim, survivor):
        killed: list[ServiceProcess] = []

        def kill_after_some(service: ServiceProcess, acked: int) -> None:
            if acked >= 60 and not killed:
                victim.kill()
                killed.append(victim)

        acked, failed = asyncio.run(_post_all([victim, survivor], batches, on_ack=kill_after_some))
        assert killed and failed, "the kill must land while requests are still going to the victim"
        _, lost = asyncio.run(_post_all([survivor], failed))  # what a load balancer retry does
        assert lost == []
    engine = make_engine(url)
    try:
        stored = {r["card_uuid"] for r in FeedbackStore(engine).all()}
    finally:
        engine.dispose()
    acknowledged = {i["card"] for batch in acked for i in batch}
    assert acknowledged <= stored
    assert stored == {f"card-{n:05d}" for n in range(1200)}
