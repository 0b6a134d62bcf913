"""Database engine creation from one URL setting (SQLite embedded default, PostgreSQL for replicas)."""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

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


# As many database threads as the PostgreSQL pool has connections (pool_size + max_overflow): a further
# thread could only wait for a connection.
DATABASE_THREADS = 10


class _DatabaseExecutor(Executor):
    """A fixed set of daemon threads for database calls (issue 17).

    Not ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so one blocked on a hung
    database would hold the process up at shutdown; these are daemons and are simply abandoned. Not
    anyio's ``to_thread`` either: its capacity limiter and cancel scope cost ~20 µs more per call,
    on every request (the replay check) and every waiting card.
    """

    def __init__(self, max_threads: int) -> None:
        self._max = max_threads
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((future, partial(fn, **kwargs) if kwargs else fn, args))
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # that thread takes this call
                return future
            if self._threads >= self._max:
                return future  # queued behind the busy threads, cancelled if it times out first
            self._threads += 1
        threading.Thread(target=self._work_loop, name="database", daemon=True).start()
        return future

    def _work_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():  # False: cancelled while queued, never run
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the awaiting request, as the executor contract says
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop idle threads (tests); a thread blocked in the database leaves when it answers."""
        with self._lock:
            threads, self._threads, self._idle = self._threads, 0, 0
        for _ in range(threads):
            self._work.put(None)


_executor: _DatabaseExecutor | None = None
_executor_pid = 0


def database_executor() -> _DatabaseExecutor:
    """This process's executor, made on first use (a forked worker must not inherit its parent's threads)."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        _executor, _executor_pid = _DatabaseExecutor(DATABASE_THREADS), os.getpid()
    return _executor


async def run_bounded(timeout: float, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a database thread, given up after ``timeout`` seconds with DatabaseUnavailable.

    The thread is abandoned, not killed: it finishes (or fails) when the database answers again, and
    the request has long had its 503. A call still queued behind busy threads when it times out is
    cancelled and never runs. Connection errors are 503 too; other errors propagate. The caller's
    context variables (the request's log fields) go with the call.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    try:
        async with asyncio.timeout(timeout):
            return await loop.run_in_executor(database_executor(), context.run, function, *args)
    except TimeoutError as exc:
        raise DatabaseUnavailable(f"the database did not answer within {timeout:g} s") from exc
    except (OperationalError, InterfaceError, SATimeoutError) as exc:
        raise DatabaseUnavailable(f"the database is unavailable ({type(exc).__name__})") from exc


def ping(engine: Engine) -> None:
    """Raises unless the database answers ``SELECT 1`` (the readiness check)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
