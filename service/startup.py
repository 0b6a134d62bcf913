"""Checks made once, in the process that starts the workers, before any worker exists.

A worker that fails to start is started again by uvicorn's supervisor, forever, while the port refuses
connections; so every setting a worker needs is checked here first, and all problems are reported together.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from service.commands.errors import EXIT_USAGE, CommandError, describe, settings_problems
from service.settings import Settings

if TYPE_CHECKING:
    from service.knowledge import Knowledge


def _settings() -> tuple[Settings | None, list[str]]:
    """The settings and their problems; invalid ones are reported and replaced by defaults to check the rest."""
    problems: list[str] = []
    defaults: dict[str, Any] = {}
    hidden: dict[str, str] = {}  # variables that cannot even be parsed, kept out of the next attempt
    try:
        for _ in Settings.model_fields:
            try:
                return Settings(**defaults), problems
            except ValidationError as exc:
                problems += settings_problems(exc.errors())
                bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            except SettingsError as exc:
                problems.append(describe(exc)[1].removeprefix("invalid settings: "))
                field = re.search(r'field "(\w+)"', str(exc))
                bad = {field.group(1)} if field else set()
                variable = f"BACKPAIN_CDS_{field.group(1).upper()}" if field else ""
                if variable in os.environ:
                    hidden[variable] = os.environ.pop(variable)
            if not bad or not bad <= set(Settings.model_fields) or bad <= set(defaults):
                break
            defaults.update({n: Settings.model_fields[n].get_default(call_default_factory=True) for n in bad})
        return None, problems
    finally:
        os.environ.update(hidden)


# The knowledge this process checked, kept for its app when this process is the only worker.
_kept: dict[Path, Knowledge] = {}


def _knowledge(root: Path, keep: bool) -> list[str]:
    from service.errors import KnowledgeError
    from service.knowledge import load_knowledge

    try:
        knowledge = load_knowledge(root)
    except KnowledgeError as exc:
        return [f"BACKPAIN_CDS_KNOWLEDGE_DIR={root}: {exc.message}"]
    if keep:
        _kept[root] = knowledge
    return []


def checked_knowledge(root: Path) -> Knowledge | None:
    """The knowledge :func:`check_startup` loaded from ``root`` in this process, handed over once.

    With one worker the process that checks is the worker: loading ``cards/`` (JSON Schemas, value sets,
    the text pipeline) a second time for the app cost ~2 s of every start.
    """
    return _kept.pop(root, None)


def _database(url: str) -> list[str]:
    """The database answers (SQLite: its folder exists and is writable; PostgreSQL: it accepts us)."""
    from sqlalchemy import text

    from service.storage.db import make_engine

    try:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any driver error: report it with the others instead of a traceback
        return [f"BACKPAIN_CDS_DATABASE_URL: {describe(exc)[1]}"]
    return []


def _port(host: str, port: int) -> list[str]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return [f"cannot listen on {host}:{port}: {exc.strerror or exc}"]
    return []


def startup_problems(host: str, port: int, *, keep_knowledge: bool = False) -> tuple[Settings | None, list[str]]:
    """The settings and every reason a worker could not start with them (empty when it can).

    ``keep_knowledge``: this process will be the worker, so the knowledge loaded to check it is kept for
    :func:`checked_knowledge` (never in a supervisor: it would hold it, the text pipeline included, for life).
    """
    from service.metrics_dir import MetricsDirError, ensure_metrics_dir
    from service.security.startup import security_problems

    settings, problems = _settings()
    try:
        ensure_metrics_dir()
    except MetricsDirError as exc:
        problems.append(str(exc))
    problems += _port(host, port)
    if settings is None:
        return None, problems
    problems += security_problems(settings)
    problems += _knowledge(settings.knowledge_dir, keep_knowledge)
    problems += _database(settings.database_url)
    return (None if problems else settings), problems


def check_startup(host: str, port: int, *, keep_knowledge: bool = False) -> Settings:
    """The settings, or :class:`CommandError` (exit code 2) naming every problem."""
    settings, problems = startup_problems(host, port, keep_knowledge=keep_knowledge)
    if problems or settings is None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise CommandError(f"cannot start ({count}): " + "; ".join(problems), code=EXIT_USAGE)
    return settings
