"""Install anywhere: the wheel carries its knowledge, fixtures and migrations and runs from an empty folder.

The wheel is built from exactly what the Dockerfile's build stage copies (tests/support/wheel.py) and
installed in a fresh venv outside the checkout; every command runs in an empty working directory.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from service.fixtures_catalog import Case, group_resources, list_cases
from service.storage.migrate import head_revision
from tests.support.engine import knowledge
from tests.support.processes import free_port
from tests.support.wheel import REPO, InstalledWheel, running

C1 = "C1--in--leg-weakness-with-breast-cancer"
# Top-level folders that become packages inside ``service`` (pyproject's package-dir).
MAPPED = {"service": "service", "cards": "service.cards", "fixtures": "service.fixtures"}


def _folders_that_ship() -> set[str]:
    """Every folder with files whose name can be a package: it must be listed (else setuptools warns)."""
    names = set()
    for top, package in MAPPED.items():
        for folder in [REPO / top, *(p for p in (REPO / top).rglob("*") if p.is_dir())]:
            relative = folder.relative_to(REPO / top).parts
            if any(not part.isidentifier() for part in relative) or "__pycache__" in relative:
                continue
            if any(p.is_file() for p in folder.iterdir()):
                names.add(".".join([package, *relative]))
    return names


def test_every_folder_that_ships_is_a_listed_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    missing = _folders_that_ship() - set(config["packages"])
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    assert config["package-dir"] == {"service.cards": "cards", "service.fixtures": "fixtures"}


def test_wheel_holds_knowledge_fixtures_migrations_and_license_without_build_warnings(
    installed_wheel: InstalledWheel,
) -> None:
    assert "Deprecat" not in installed_wheel.build_log and "would be ignored" not in installed_wheel.build_log
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    cards = {f"service/cards/{p.relative_to(REPO / 'cards').as_posix()}" for p in (REPO / "cards").rglob("*.json")}
    assert cards and cards <= names
    for case in list_cases():
        files = ("bundle.json", "case.json", "expected.json")
        assert {f"service/fixtures/cases/{case.name}/{f}" for f in files} <= names
    migrations = {f"service/storage/migrations/versions/{p.name}"
                  for p in (REPO / "service/storage/migrations/versions").glob("*.py")}
    assert migrations <= names and "service/storage/migrations/script.py.mako" in names
    assert "License-Expression: Apache-2.0" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def _run(wheel: InstalledWheel, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(wheel.bin / "backpain-cds"), *args], cwd=cwd, env=wheel.env(), capture_output=True, text=True,
        timeout=120,
    )


def test_the_installed_package_and_its_default_knowledge_come_from_the_wheel(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    probe = "import service, service.settings as s; print(service.__file__); print(s.Settings().knowledge_dir)"
    done = subprocess.run([str(installed_wheel.python), "-c", probe], cwd=tmp_path, env=installed_wheel.env(),
                          capture_output=True, text=True, timeout=60, check=True)
    module, knowledge = done.stdout.split()
    assert Path(module).is_relative_to(installed_wheel.package)
    assert Path(knowledge) == installed_wheel.package / "cards"


def test_migrate_and_evaluate_work_from_an_empty_directory(installed_wheel: InstalledWheel, tmp_path: Path) -> None:
    migrated = _run(installed_wheel, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.split() == ["current:", head_revision(), "head:", head_revision()]
    assert (tmp_path / "backpain-cds.db").exists()

    bundle = installed_wheel.package / "fixtures" / "cases" / C1 / "bundle.json"
    evaluated = _run(installed_wheel, tmp_path, "evaluate", "--bundle", str(bundle), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    [card] = json.loads(evaluated.stdout)["cards"]
    [golden] = next(c for c in list_cases() if c.name == C1).expected()["cards"]
    assert (card["indicator"], card["summary"]) == (golden["indicator"], golden["summary"])
    assert "Evaluated as of 2026-03-15T10:00:00+00:00" in evaluated.stderr


def _prefetch_today(case: Case) -> dict[str, Any]:
    """The case as a complete EHR would send it today: its dates moved so that its asOf is now."""
    spec = knowledge().service
    grouped = group_resources(case.resources_as_of(datetime.now(UTC).date()), spec)
    return {
        key: (items[0] if items else None) if "?" not in spec.prefetch[key].query
        else {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in items]}
        for key, items in grouped.items()
    }


def test_serve_from_an_empty_directory_answers_a_fixture_case_and_previews_fixtures(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    port = free_port()
    command = [str(installed_wheel.bin / "backpain-cds"), "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    case = next(c for c in list_cases() if c.name == C1)
    with running(command, cwd=tmp_path, env=installed_wheel.env(), base_url=base, log=tmp_path.parent / "serve.log") \
            as service:
        body = {
            "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/example", "patientId": case.patient_id},
            "prefetch": _prefetch_today(case),
        }
        answer = httpx.post(f"{base}/cds-services/back-pain-red-flags", json=body, timeout=30)
        preview = httpx.get(f"{base}/preview", timeout=60)
        printed = service.output()
    assert answer.status_code == 200, answer.text
    [card] = answer.json()["cards"]
    [golden] = case.expected()["cards"]
    assert (card["indicator"], card["summary"]) == (golden["indicator"], golden["summary"])
    assert preview.status_code == 200
    assert all(c.name in preview.text for c in list_cases())
    assert f"listening on http://127.0.0.1:{port}" in printed
