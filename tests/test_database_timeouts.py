"""A hung database makes calls fail fast (issue 16): the real PostgreSQL, paused with SIGSTOP.

Production needs the replay cache for every JWT, so a database that does not answer must give a
quick 503, not a hang; /readyz must answer 503 within its own timeout; once the database is resumed
(SIGCONT) the same app serves again. SQLite's busy timeout is checked by holding its write lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from service.errors import DatabaseUnavailable
from service.settings import TrustedIssuer
from service.storage.db import DATABASE_THREADS, run_bounded
from tests.support.app import SERVICE_URL, client_for, hook_request, schema_validator, settings_for
from tests.support.postgres import PostgresServer
from tests.support.tokens import ISS, claims, ec_key, mint, public_jwk
from tests.support.tokens import settings_for as production_settings

OO = schema_validator("operation-outcome.schema.json")
FEEDBACK = {"feedback": [{"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]}
TIMEOUTS = {"database_statement_timeout_seconds": 0.5, "readyz_timeout_seconds": 0.5,
            "database_connect_timeout_seconds": 1.0}


def cluster_pids(server: PostgresServer) -> list[int]:
    """The postmaster of the test cluster and every process it started (backends, checkpointer...)."""
    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    postmaster = int((Path(row[0]) / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


@contextmanager
def paused(server: PostgresServer) -> Iterator[None]:
    pids = cluster_pids(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            # The postmaster is resumed first and may reap a backend that was already exiting (the one
            # cluster_pids used) before that backend's own SIGCONT: it is gone, nothing to resume.
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def bearer(path: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(ec_key(), claims(path))}


def call_hook(client: TestClient) -> int:
    return client.post(SERVICE_URL, json=hook_request(), headers=bearer(SERVICE_URL)).status_code


@pytest.mark.integration
def test_a_paused_postgres_gives_fast_503s_and_the_service_recovers(postgres_server: PostgresServer) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    settings = production_settings(issuer, database_url=postgres_server.create_database(), **TIMEOUTS)
    with client_for(settings) as client:
        assert call_hook(client) == 200
        assert client.get("/readyz").status_code == 200
        with paused(postgres_server):
            for _ in range(3):  # more than one: abandoned threads must not make later calls hang
                response = client.post(SERVICE_URL, json=hook_request(), headers=bearer(SERVICE_URL))
                assert response.status_code == 503
                OO.validate(response.json())
                assert "did not answer within 0.5 s" in response.text
            ready = client.get("/readyz")
            assert ready.status_code == 503
            OO.validate(ready.json())
            path = SERVICE_URL + "/feedback"
            assert client.post(path, json=FEEDBACK, headers=bearer(path)).status_code == 503
        statuses = [call_hook(client) for _ in range(20)]
        assert statuses[-1] == 200  # the pool reconnects (pre-ping) once the database is back
        assert client.get("/readyz").status_code == 200
        assert set(statuses) <= {200, 503}


def test_a_locked_sqlite_database_gives_503_after_the_busy_timeout(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **TIMEOUTS)
    with client_for(settings) as client:
        holder = sqlite3.connect(tmp_path / "cds.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # holds the write lock, as a stuck writer would
        try:
            response = client.post(SERVICE_URL + "/feedback", json=FEEDBACK)
            assert response.status_code == 503
            OO.validate(response.json())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.post(SERVICE_URL + "/feedback", json=FEEDBACK).status_code == 200


@pytest.mark.integration
def test_database_timeouts_reach_the_postgres_connection(postgres_server: PostgresServer) -> None:
    """statement_timeout is set on every connection the engine opens (the server enforces it)."""
    from sqlalchemy import text

    from service.storage.db import make_engine

    engine = make_engine(postgres_server.create_database(), connect_timeout=2, statement_timeout=0.25)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "250ms"
        assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "250ms"
    engine.dispose()


def test_run_bounded_gives_up_on_a_hung_call_and_never_runs_one_still_queued() -> None:
    """Every database thread blocked: a further call waits in the queue, times out (503) and is cancelled,
    so it does not run later against a database that has moved on."""
    release = threading.Event()
    ran: list[str] = []

    def hung() -> None:
        release.wait(10)

    async def scenario() -> None:
        blocked = [asyncio.ensure_future(run_bounded(10, hung)) for _ in range(DATABASE_THREADS)]
        await asyncio.sleep(0.05)
        with pytest.raises(DatabaseUnavailable, match=r"did not answer within 0\.1 s"):
            await run_bounded(0.1, ran.append, "queued")
        release.set()
        await asyncio.gather(*blocked)
        assert await run_bounded(1, ran.append, "later") is None

    asyncio.run(scenario())
    assert ran == ["later"]


def test_run_bounded_maps_connection_errors_to_503_and_passes_the_context() -> None:
    from sqlalchemy.exc import OperationalError

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")

    def broken() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def other() -> None:
        raise ValueError("not a database error")

    async def scenario() -> str:
        request_id.set("r-1")
        with pytest.raises(DatabaseUnavailable, match="OperationalError"):
            await run_bounded(1, broken)
        with pytest.raises(ValueError):
            await run_bounded(1, other)
        return await run_bounded(1, request_id.get)

    assert asyncio.run(scenario()) == "r-1"
