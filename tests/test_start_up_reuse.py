"""What one start-up step hands the next in the same process, so a start does each piece of work once."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import startup
from service.commands.serve import schema_at_head
from service.main import create_app
from service.paths import knowledge_dir
from service.storage.db import make_engine
from service.storage.migrate import downgrade, upgrade
from tests.support.app import settings_for


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("BACKPAIN_CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'cds.db'}")
    monkeypatch.setenv("BACKPAIN_CDS_METRICS_DIR", str(tmp_path / "metrics"))
    return tmp_path


def test_a_sole_worker_gets_the_knowledge_its_check_loaded_once(isolated_env: Path) -> None:
    settings, problems = startup.startup_problems("127.0.0.1", 0, keep_knowledge=True)
    assert problems == [] and settings is not None
    kept = startup.checked_knowledge(settings.knowledge_dir)
    assert kept is not None and kept.service.id == "back-pain-red-flags"
    assert startup.checked_knowledge(settings.knowledge_dir) is None  # handed over once, then not held


def test_the_app_of_the_checking_process_uses_the_checked_knowledge(isolated_env: Path) -> None:
    settings, _ = startup.startup_problems("127.0.0.1", 0, keep_knowledge=True)
    assert settings is not None
    kept = startup._kept[settings.knowledge_dir]
    app = create_app(settings_for(isolated_env, knowledge_dir=settings.knowledge_dir))
    assert app.state.backpain.knowledge is kept
    assert startup.checked_knowledge(settings.knowledge_dir) is None
    assert create_app(settings_for(isolated_env)).state.backpain.knowledge is not kept  # a later app loads its own


def test_a_supervisor_keeps_nothing(isolated_env: Path) -> None:
    settings, problems = startup.startup_problems("127.0.0.1", 0)
    assert problems == [] and settings is not None
    assert startup.checked_knowledge(knowledge_dir()) is None


def test_schema_at_head_only_for_a_database_at_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    assert schema_at_head(url) is False  # empty: serve migrates in its child
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert schema_at_head(url) is True  # a restart skips the child
        downgrade(engine, "0002")
        assert schema_at_head(url) is False  # an older schema is migrated
    finally:
        engine.dispose()
    assert schema_at_head("postgresql://nobody@127.0.0.1:1/none") is False  # unreachable: left to the child
