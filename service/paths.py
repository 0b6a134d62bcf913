"""Where the shipped data lives, so a default path works from a checkout and from an installed wheel.

In the repository the clinical knowledge and the fixture cases are top-level folders (``cards/``,
``fixtures/``) beside ``service/``; the wheel ships them inside the package as ``service/cards`` and
``service/fixtures`` (``[tool.setuptools.package-dir]`` in pyproject.toml). Neither depends on the
working directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_ROOT = PACKAGE_DIR.parent


def shipped(name: str) -> Path:
    """``service/<name>`` when installed from a wheel, else ``<checkout>/<name>`` (source or editable install)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else CHECKOUT_ROOT / name


def knowledge_dir() -> Path:
    """The clinical knowledge shipped with this version (the default of ``BACKPAIN_CDS_KNOWLEDGE_DIR``)."""
    return shipped("cards")


def cases_dir() -> Path:
    """The fixture cases shipped with this version (``/preview``, ``load-fixtures``)."""
    return shipped("fixtures") / "cases"
