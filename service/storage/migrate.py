"""Versioned schema migrations (Alembic), run at start-up by every worker or by ``backpain-cds migrate``.

Several uvicorn workers or replicas start at once, so the upgrade runs under a lock: a transaction-level
advisory lock on PostgreSQL (released at commit, even if the process dies) and an ``flock`` on a file
next to the SQLite database. The loser waits, then finds the schema at head and does nothing.

Alembic (with Mako) costs a worker ~10 MiB for as long as it lives, so it is imported only when a
migration is needed: :func:`ensure_schema` reads the revision with one plain query first, and
``backpain-cds serve`` migrates in a child process before its workers start (issue 17).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number; it names "the schema migration" among the cluster's advisory locks.
PG_LOCK_KEY = 7_346_001_207
# The schema that ``create_schema`` built before migrations existed is exactly revision 0001.
LEGACY_REVISION = "0001"
# The newest revision under migrations/versions (a test keeps it equal to Alembic's head).
SCHEMA_HEAD = "0003"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code: no ``alembic.ini`` has to ship with the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """SQLite only: serialise migrating processes on a lock file beside the database file."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(Path(database).expanduser().with_name(Path(database).name + ".migrate.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def at_head(engine: Engine) -> bool:
    """True when the database is already at :data:`SCHEMA_HEAD`, read without Alembic."""
    try:
        with engine.connect() as conn:
            versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:  # no alembic_version table yet (or unreadable): let the upgrade decide and report
        return False
    return versions == [SCHEMA_HEAD]


def ensure_schema(engine: Engine) -> None:
    """Migrate to head unless the database is there already (the usual start of a worker)."""
    if not at_head(engine):
        upgrade(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to call from many processes at the same time."""
    from alembic import command

    with _file_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Migrations and the wait for another worker's may outlast the request-path timeouts.
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SET LOCAL lock_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        config = alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        if "feedback" in tables and "alembic_version" not in tables:
            command.stamp(config, LEGACY_REVISION)
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back (used by the migration tests to build a database at an older revision)."""
    from alembic import command

    with _file_lock(engine), engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)

