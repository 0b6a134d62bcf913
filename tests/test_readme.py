"""README statements that the code can check: the settings list, the error statuses, the default knowledge."""

from __future__ import annotations

import re

from service.errors import ServiceError
from service.paths import knowledge_dir
from service.settings import Settings
from tests.support.wheel import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def documented_variables() -> set[str]:
    """Full names, plus the short forms ``A`` / ``..._X`` of one table row, expanded on A's prefixes."""
    names: set[str] = set()
    for line in README.splitlines():
        full = re.findall(r"BACKPAIN_CDS_\w+", line)
        names.update(full)
        for short in re.findall(r"\.\.\._(\w+)", line):
            for name in full:
                cuts = [m.start() for m in re.finditer("_", name)]
                names.update(name[:cut] + "_" + short for cut in cuts)
    return names


def test_every_setting_is_in_the_readme() -> None:
    variables = {"BACKPAIN_CDS_" + name.upper() for name in Settings.model_fields}
    missing = variables - documented_variables()
    assert not missing, f"README 'Settings' does not list {sorted(missing)}"


def test_every_error_status_of_the_api_is_in_the_readme() -> None:
    [errors] = [p for p in README.split("\n\n") if p.startswith("Errors are FHIR")]
    statuses = {cls.status_code for cls in ServiceError.__subclasses__() if cls.status_code < 502} | {405}
    missing = {s for s in statuses if not re.search(rf"\b{s}\b", errors)}
    assert not missing, f"README's error paragraph does not name {sorted(missing)}"


def test_the_default_knowledge_folder_is_the_shipped_one_not_the_working_directory() -> None:
    assert Settings(_env_file=None).knowledge_dir == knowledge_dir() == REPO / "cards"
    assert "the `cards/` shipped with the package" in README
