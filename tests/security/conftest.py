"""Keeps structlog from writing to a stream pytest has already closed.

``configure_logging`` (run by ``create_app``) binds structlog to the ``sys.stdout`` of that moment,
which under capsys/capfd is a capture file closed after the test; later log calls would then fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
