"""Shared test configuration. Feature-specific fixtures live in ``tests/support/`` modules."""

from __future__ import annotations

import pytest

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
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))

