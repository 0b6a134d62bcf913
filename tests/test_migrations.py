"""Schema migrations on SQLite and PostgreSQL: empty to head, previous revision to head without loss."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from service.cdshooks.models import FeedbackItem
from service.cli import main
from service.storage.db import make_engine
from service.storage.feedback import FeedbackStore
from service.storage.migrate import (
    SCHEMA_HEAD,
    at_head,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from service.storage.schema import feedback, metadata

ITEMS = [
    FeedbackItem.model_validate({"card": f"card-{n}", "outcome": "overridden",
                                 "outcomeTimestamp": datetime(2026, 11, 25, 10, n, tzinfo=UTC).isoformat()})
    for n in range(5)
]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _schema_drift(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_three_revisions_in_a_line() -> None:
    assert head_revision() == "0003"


def test_an_empty_database_is_migrated_to_head_matching_the_declared_schema(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == "0003"
    assert {"feedback", "replay_cache", "issued_card", "alembic_version"} <= set(inspect(engine).get_table_names())
    assert _schema_drift(engine) == []
    upgrade(engine)  # a second start-up finds nothing to do
    assert current_revision(engine) == "0003"


def test_a_database_at_the_previous_revision_upgrades_without_loss(engine: Engine) -> None:
    upgrade(engine, "0001")
    assert "replay_cache" not in inspect(engine).get_table_names()
    store = FeedbackStore(engine)
    assert store.add("back-pain-red-flags", ITEMS, "hi-1") == 5
    before = store.all()
    upgrade(engine)
    assert current_revision(engine) == "0003"
    assert store.all() == before
    assert store.add("back-pain-red-flags", ITEMS) == 0  # the dedupe constraint survived


def test_a_database_made_before_migrations_existed_is_adopted_as_0001(engine: Engine) -> None:
    feedback.create(engine)  # what the old create_schema() built, without alembic_version
    with engine.begin() as conn:  # ... and without the index revision 0003 added
        conn.execute(text("DROP INDEX ix_feedback_card_uuid"))
    FeedbackStore(engine).add("back-pain-red-flags", ITEMS[:2])
    upgrade(engine)
    assert current_revision(engine) == "0003"
    assert FeedbackStore(engine).count() == 2


def test_downgrade_to_0001_then_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    FeedbackStore(engine).add("back-pain-red-flags", ITEMS)
    downgrade(engine, "0001")
    assert "replay_cache" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert FeedbackStore(engine).count() == 5
    assert _schema_drift(engine) == []


def test_cli_migrate_then_show(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", database_url, "--revision", "0001"]) == 0
    assert "current: 0001  head: 0003" in capsys.readouterr().out
    assert main(["migrate", "--database-url", database_url]) == 0
    assert main(["migrate", "--database-url", database_url, "--show"]) == 0
    assert "current: 0003  head: 0003" in capsys.readouterr().out.splitlines()[-1]


def test_0002_to_0003_keeps_feedback_and_adds_the_card_record(engine: Engine) -> None:
    upgrade(engine, "0002")
    store = FeedbackStore(engine)
    store.add("back-pain-red-flags", ITEMS, "hi-1")
    before = store.all()
    upgrade(engine)
    assert store.all() == before
    assert "issued_card" in inspect(engine).get_table_names()
    assert "ix_feedback_card_uuid" in {ix["name"] for ix in inspect(engine).get_indexes("feedback")}
    downgrade(engine, "0002")
    assert "issued_card" not in inspect(engine).get_table_names()
    assert store.all() == before


def test_schema_head_constant_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_a_worker_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    """ensure_schema on a database at head reads one row and leaves Alembic unimported (~10 MiB a worker)."""
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    upgrade(create_engine(url))
    code = (
        "import sys; from sqlalchemy import create_engine; from service.storage.migrate import ensure_schema; "
        f"ensure_schema(create_engine({url!r})); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_ensure_schema_migrates_an_empty_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cds.db'}")
    assert not at_head(engine)
    ensure_schema(engine)
    assert at_head(engine) and current_revision(engine) == SCHEMA_HEAD


def test_serve_migrates_in_a_child_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from service.commands.serve import migrate_in_child

    url = f"sqlite:///{tmp_path / 'cds.db'}"
    monkeypatch.setenv("BACKPAIN_CDS_DATABASE_URL", url)
    migrate_in_child(url)
    assert at_head(create_engine(url))
    assert "alembic" not in capsys.readouterr().err  # nothing to report


def test_a_failed_child_migration_is_reported_and_left_to_the_workers(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from service.commands.serve import migrate_in_child

    monkeypatch.setenv("BACKPAIN_CDS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    migrate_in_child("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "the workers will migrate" in capsys.readouterr().err
