"""The command line as a person at a terminal meets it: one plain error line on stderr, exit codes, clean --json.

Start-up refusals run ``serve`` as a real process with two workers: it must exit at once, naming every problem.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.commands.errors import EXIT_FAILED, EXIT_USAGE
from service.fixtures_catalog import Case, list_cases
from tests.support.processes import REPO, free_port

CASES = {case.name: case for case in list_cases()}
C1 = CASES["C1--in--leg-weakness-with-breast-cancer"]
C5 = CASES["C5--in--persistent-pain-site-enabled"]


def error_line(err: str, command: str) -> str:
    """The single error line (stderr may also hold JSON log lines before it)."""
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"backpain-cds {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def evaluate_json(capsys: pytest.CaptureFixture[str], case: Case, *extra: str) -> tuple[dict, str]:
    assert main(["evaluate", "--bundle", str(case.path / "bundle.json"), "--json", *extra]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize("case", [C1, CASES["C1--in--saddle-numbness-no-cancer"], C5], ids=lambda c: c.name)
def test_evaluate_on_a_fixture_uses_its_frozen_date_and_site_settings(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    response, err = evaluate_json(capsys, case)
    got = [(c["indicator"], c["summary"], c["detail"]) for c in response["cards"]]
    assert got == [(c["indicator"], c["summary"], c["detail"]) for c in case.expected()["cards"]]
    assert f"Evaluated as of {case.as_of.isoformat()} (frozen date of fixture case {case.name}" in err


def test_evaluate_as_of_wins_over_the_frozen_date_and_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    response, err = evaluate_json(capsys, C1, "--as-of", "2026-09-15")
    assert "Evaluated as of 2026-09-15T00:00:00+00:00 (--as-of)" in err
    # six months on, the leg weakness is no longer recent: not the emergency card
    assert [c["indicator"] for c in response["cards"]] != ["critical"]


def test_evaluate_of_a_bundle_outside_the_fixtures_says_it_uses_now(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle = tmp_path / "patient.json"
    bundle.write_text((C1.path / "bundle.json").read_text(encoding="utf-8"))
    assert main(["evaluate", "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "Evaluated as of " in out and "(now)" in out


def test_evaluate_json_stdout_is_only_json_even_with_log_lines(tmp_path: Path) -> None:
    env = {**os.environ, "BACKPAIN_CDS_LOG_LEVEL": "INFO"}
    args = [sys.executable, "-m", "service", "evaluate", "--fhir-server", "http://127.0.0.1:9/fhir",
            "--patient", "p1", "--json"]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_FAILED
    assert done.stdout == ""
    assert "fhir.unavailable" in done.stderr  # the log lines went to stderr
    assert "patient (Patient)" in error_line(done.stderr, "evaluate")


@pytest.mark.parametrize(("args", "code", "says"), [
    (["migrate", "--revision", "zzz"], EXIT_USAGE, "Can't locate revision identified by 'zzz'"),
    (["migrate", "--database-url", "not a url"], EXIT_USAGE, "database URL"),
    (["migrate", "--database-url", "nosuchdb://x"], EXIT_USAGE, "database URL"),
    (["evaluate", "--bundle", "/no/such/bundle.json"], EXIT_FAILED, "No such file or directory"),
    (["evaluate", "--bundle", "x", "--as-of", "yesterday"], EXIT_USAGE, "not an ISO date"),
    (["evaluate"], EXIT_USAGE, "one of the arguments --bundle --fhir-server is required"),
    (["serve", "--workers", "0"], EXIT_USAGE, "--workers must be at least 1"),
])
def test_errors_are_one_line_on_stderr_with_the_documented_exit_code(
    args: list[str], code: int, says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKPAIN_CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'cds.db'}")
    try:
        result = main(args)
    except SystemExit as exit_:  # argparse's usage errors
        result = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert result == code
    assert captured.out == ""
    assert says in error_line(captured.err, args[0])


def test_serve_with_two_workers_refuses_bad_settings_at_once_naming_every_problem(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKPAIN_CDS_", "PROMETHEUS_"))}
    env.update({
        "BACKPAIN_CDS_PROFILE": "production",
        "BACKPAIN_CDS_FHIR_PAGE_CAP": "many",
        "BACKPAIN_CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}",
    })
    args = [sys.executable, "-m", "service", "serve", "--workers", "2", "--port", str(free_port())]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_USAGE
    line = error_line(done.stderr, "serve")
    # the invalid value, and what the rest of the settings still lack for production
    assert "cannot start (3 problems)" in line and "BACKPAIN_CDS_FHIR_PAGE_CAP" in line and "'many'" in line
    assert "BACKPAIN_CDS_TRUSTED_ISSUERS" in line and "PUBLIC_BASE_URL" in line

    env.update({"BACKPAIN_CDS_FHIR_PAGE_CAP": "20", "BACKPAIN_CDS_KNOWLEDGE_DIR": str(tmp_path / "no-cards")})
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_USAGE
    line = error_line(done.stderr, "serve")
    assert "cannot start (3 problems)" in line
    assert "BACKPAIN_CDS_TRUSTED_ISSUERS" in line and "PUBLIC_BASE_URL" in line and "BACKPAIN_CDS_KNOWLEDGE_DIR" in line
