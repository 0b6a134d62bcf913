"""How the command line reports failure: one plain line on stderr and an exit code (README "Command line").

Commands raise; :func:`service.cli.main` turns whatever they raise into that line. Library messages are
reduced to what a person at a terminal can act on: no traceback, no SQL, no pydantic error dump.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and failed: patient not found, FHIR server or database unreachable
EXIT_USAGE = 2  # the command cannot run as asked: bad arguments, settings, knowledge, revision (argparse uses 2 too)
EXIT_INTERRUPTED = 130

ENV_PREFIX = "BACKPAIN_CDS_"


class CommandError(Exception):
    """A failure the command explains itself; ``problems`` are joined into the one line."""

    def __init__(self, *problems: str, code: int = EXIT_FAILED) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
        self.code = code


def one_line(text: str) -> str:
    """The first non-empty line of ``text``, whitespace collapsed (library messages append details below)."""
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def settings_problems(errors: Iterable[ErrorDetails]) -> list[str]:
    """pydantic's errors on :class:`~service.settings.Settings`, each as ``VARIABLE: what is wrong``."""
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if not loc:
            problems.append(message)
            continue
        name = ENV_PREFIX + loc[0].upper()
        inner = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
        if error.get("type") == "missing":
            problems.append(f"{name}{inner}: required")
        else:
            problems.append(f"{name}{inner}: {message} (got {_short(error.get('input'))})")
    return problems


def _database_problem(exc: Exception) -> tuple[int, str] | None:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.NoSuchModuleError | sa.ArgumentError):
        return EXIT_USAGE, f"database URL: {one_line(str(exc))}"
    if isinstance(exc, sa.DBAPIError):
        return EXIT_FAILED, f"database: {one_line(str(exc.orig))}"
    if isinstance(exc, sa.SQLAlchemyError):
        return EXIT_FAILED, f"database: {one_line(str(exc))}"
    return None


def describe(exc: Exception) -> tuple[int, str]:
    """Exit code and the one line for anything a command raised."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from service.errors import ServiceError
    from service.metrics_dir import MetricsDirError

    if isinstance(exc, CommandError):
        return exc.code, "; ".join(one_line(p) for p in exc.problems)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return EXIT_USAGE, "invalid settings: " + "; ".join(settings_problems(exc.errors()))
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or exc.title
        return EXIT_FAILED, f"invalid {exc.title}: {where}: {one_line(first['msg'])}"
    if isinstance(exc, SettingsError):
        field = re.search(r'field "(\w+)"', str(exc))
        name = ENV_PREFIX + field.group(1).upper() if field else "a setting"
        cause = f": {one_line(str(exc.__cause__))}" if exc.__cause__ else ""
        return EXIT_USAGE, f"invalid settings: {name} cannot be parsed{cause}"
    if isinstance(exc, MetricsDirError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, ServiceError):
        from service.errors import KnowledgeError

        return (EXIT_USAGE if isinstance(exc, KnowledgeError) else EXIT_FAILED), one_line(exc.message)
    database = _database_problem(exc)
    if database is not None:
        return database
    from alembic.util import CommandError as AlembicError

    if isinstance(exc, AlembicError):
        return EXIT_USAGE, f"migration: {one_line(str(exc))}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILED, f"{exc.strerror or one_line(str(exc))}{where}"
    return EXIT_FAILED, f"unexpected {type(exc).__name__}: {one_line(str(exc))} (run with --debug for the traceback)"
