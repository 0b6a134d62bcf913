"""Shared test configuration. Feature-specific fixtures live in ``tests/support/`` modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shared import shared

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.databases",
    "tests.support.fhir_server",
    "tests.support.wheel",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite fixtures/cases/*/expected.json from the current engine (review the diff!)",
    )


@pytest.fixture
def shared_synthea() -> Path:
    """The Synthea bundles of the shared data folder; the test fails with a clear message without them."""
    return shared("data", "synthea-r4")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))

