"""Database engine creation from one URL setting (SQLite embedded default, PostgreSQL for replicas)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.pool import StaticPool

from service.errors import DatabaseUnavailable

T = TypeVar("T")


def make_engine(url: str, *, connect_timeout: float = 3.0, statement_timeout: float = 2.0) -> Engine:
    """An engine for ``url`` with bounded waits (issue 16).

    SQLite gets WAL and a busy timeout of ``statement_timeout`` so concurrent writers wait, not fail,
    but not for ever. PostgreSQL gets libpq's ``connect_timeout`` and a server-side ``statement_timeout``
    and ``lock_timeout``; a server that does not answer at all (hung, paused) cannot enforce those, so
    callers also bound each call on the client side with :func:`run_bounded`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": statement_timeout, "check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args=connect_args)
        else:
            # One shared connection, or every thread of the pool would see its own empty database.
            engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    millis = max(1, round(statement_timeout * 1000))
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=connect_timeout,
        connect_args={
            "connect_timeout": max(1, math.ceil(connect_timeout)),  # libpq takes whole seconds
            "options": f"-c statement_timeout={millis} -c lock_timeout={millis}",
        },
    )


async def run_bounded(timeout: float, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread, given up after ``timeout`` seconds with DatabaseUnavailable.

    The thread is abandoned, not killed: it finishes (or fails) when the database answers again, and
    the request has long had its 503. Connection errors are 503 too; other errors propagate.
    """
    try:
        async with asyncio.timeout(timeout):
            return await anyio.to_thread.run_sync(partial(function, *args), abandon_on_cancel=True)
    except TimeoutError as exc:
        raise DatabaseUnavailable(f"the database did not answer within {timeout:g} s") from exc
    except (OperationalError, InterfaceError, SATimeoutError) as exc:
        raise DatabaseUnavailable(f"the database is unavailable ({type(exc).__name__})") from exc


def ping(engine: Engine) -> None:
    """Raises unless the database answers ``SELECT 1`` (the readiness check)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
