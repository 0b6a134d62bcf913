"""Statements compiled once per engine and run straight on a pooled DBAPI connection (issue 17).

The replay check runs on every request and the snooze INSERT on every waiting card. Through
``Connection.execute`` each paid ~50-100 µs of SQLAlchemy bookkeeping (cache key, parameter processing,
result wrapping, transaction objects) on top of the database itself. Here SQLAlchemy compiles the statement
once for the engine's dialect; each call then only runs the column types' bind processors (so SQLite
datetimes are stored exactly as Core stores them) and hands the SQL to the DBAPI cursor.

What Core gave and is kept: the connection comes from the engine's pool (pre-ping, reset on return and the
pool limits are unchanged), a DBAPI error is re-raised as SQLAlchemy's (``DBAPIError.instance``: callers and
``run_bounded`` see the same ``OperationalError``), and a disconnect invalidates the connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement in the engine's dialect: its SQL, parameter order and bind processors."""

    def __init__(self, engine: Engine, statement: ClauseElement) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        # The compiled SQL may escape a bind name (bind_names maps to the rendered one); ours are identifiers.
        assert not compiled.escaped_bind_names, "prepared statements take plain bind names"
        self.sql = compiled.string
        self._order: list[str] | None = list(compiled.positiontup or []) if compiled.positional else None
        self._names = list(dict.fromkeys(compiled.bind_names.values()))
        self._defaults: dict[str, Any] = {}  # the statement's own literals (outcome = 'overridden')
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for bind, name in compiled.bind_names.items():
            if not bind.required:
                self._defaults[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The DBAPI parameters for ``values`` (every bind without a literal must be given)."""
        merged = {**self._defaults, **values}
        for name, processor in self._processors.items():
            merged[name] = processor(merged[name])
        if self._order is not None:
            return tuple(merged[name] for name in self._order)
        return {name: merged[name] for name in self._names}


class Session:
    """A DBAPI cursor on one pooled connection, inside one transaction (see :func:`transaction`)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.last: tuple[str, Any] | None = None

    def first(self, prepared: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of ``prepared`` run with ``values`` (the rest are read and dropped)."""
        params = prepared.parameters(values)
        self.last = (prepared.sql, params)
        self._cursor.execute(prepared.sql, params)
        rows = self._cursor.fetchall() if self._cursor.description is not None else []
        return tuple(rows[0]) if rows else None


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A pooled DBAPI connection for one transaction: committed on success, rolled back on any error.

    DBAPI errors come out as SQLAlchemy's; a disconnect invalidates the connection so the pool drops it.
    """
    dialect = engine.dialect
    dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()  # pool checkout: pre-ping, pool_timeout, connect events
    except dbapi_error as exc:  # the pool hands a failed connect through unwrapped
        raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=dialect) from exc
    session: Session | None = None
    try:
        cursor = connection.cursor()
        session = Session(cursor)
        try:
            yield session
            connection.commit()
        finally:
            cursor.close()
    except dbapi_error as exc:
        disconnect = dialect.is_disconnect(exc, connection.dbapi_connection, None)  # type: ignore[arg-type]
        if disconnect:
            connection.invalidate(exc)
        else:
            _rollback(connection)
        statement, params = session.last if session is not None and session.last else (None, None)
        raise DBAPIError.instance(
            statement, params, exc, dbapi_error, connection_invalidated=disconnect, dialect=dialect
        ) from exc
    except BaseException:
        _rollback(connection)
        raise
    finally:
        connection.close()  # back to the pool (reset on return), or discarded when invalidated


def _rollback(connection: Any) -> None:
    try:
        connection.rollback()
    except Exception:  # the connection is reset or dropped by the pool on return anyway
        connection.invalidate()
