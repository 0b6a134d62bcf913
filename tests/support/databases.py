"""The ``database_url`` fixture: every storage test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each back-end; the PostgreSQL server starts on first use only."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cds.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
