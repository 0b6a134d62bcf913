"""The shared data folder (``../shared`` beside the checkout, or ``$BACKPAIN_CDS_SHARED_DIR``) that some tests read.

When it is missing those tests fail with one message saying what to do; they never skip quietly (an empty
parameter list would make pytest skip a whole set of tests without anyone noticing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.fixtures_catalog import shared_dir

HOW = (
    "the test suite needs the project's shared data folder beside the checkout (../shared, as CI provides), "
    "or its path in BACKPAIN_CDS_SHARED_DIR; see README 'Running the tests'"
)


def shared(*parts: str) -> Path:
    """``<shared>/<parts>``; fails the calling test, naming the path, when it does not exist."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: {HOW}", pytrace=False)
    return path


def synthea_params() -> list[Any]:
    """The Synthea bundles as parameters; one failing ``shared-missing`` parameter when there are none."""
    files = sorted((shared_dir() / "data" / "synthea-r4").glob("*.json"))
    return files or [pytest.param(None, id="shared-missing")]


def synthea(path: Path | None) -> Path:
    """The parameter itself, or the failure that says the shared folder is missing."""
    return path if path is not None else shared("data", "synthea-r4", "*.json")
