"""Structured logging: one JSON object per line, identifiers only (no names, dates of birth, text, tokens).

Log lines go to stderr, so a command's output on stdout (``evaluate --json``) stays clean.
"""

from __future__ import annotations

import io
import logging
import sys
from typing import TextIO, cast

import structlog


class _CurrentStderr(io.TextIOBase):
    """Writes to whatever ``sys.stderr`` is at the time of writing, not at configuration time.

    Tools and test runners swap ``sys.stderr``; a logger holding the old object would write to a closed file.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Configure structlog and the stdlib root logger once per process."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=_CurrentStderr(), format="%(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO; our own FHIR-call log lines carry what operators need.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
