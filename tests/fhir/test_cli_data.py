"""``load-fixtures`` and ``evaluate`` against the Medplum test server."""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.cli import main
from service.commands.evaluate import When, run_once
from service.fixtures_catalog import list_cases, shared_dir
from tests.fhir.builders import all_resources, sample_patient, settings
from tests.support.fhir_server import TEST_TOKEN

pytestmark = pytest.mark.integration


def write_case(cases: Path, pid: str) -> Path:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in all_resources(sample_patient(pid))],
    }
    path = cases / f"case-{pid}" / "bundle.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(bundle))
    (path.parent / "case.json").write_text(json.dumps({"asOf": "2024-06-01T10:00:00Z"}))
    return path


def read_patient(server, pid: str) -> dict:
    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
    response = httpx.get(f"{server.base_url}/Patient/{pid}", headers=headers)
    assert response.status_code == 200
    return response.json()


def test_load_fixtures_keeps_ids_and_sends_the_token(fhir_server_with_token, tmp_path, capsys):
    server = fhir_server_with_token
    write_case(tmp_path, "cli-1")
    server.clear_log()
    code = main(["load-fixtures", "--fhir-server", server.base_url, "--token", TEST_TOKEN, "--cases", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"loaded {len(all_resources(sample_patient('cli-1')))} resources" in out
    assert TEST_TOKEN not in out
    assert all(e["authorized"] and e["method"] == "PUT" for e in server.request_log())
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    assert httpx.get(f"{server.base_url}/Condition/cli-1-condition-4", headers=auth).status_code == 200
    shift = (datetime.now(UTC).date() - date(2024, 6, 1)).days
    assert read_patient(server, "cli-1")["birthDate"] == (date(1958, 4, 2) + timedelta(days=shift)).isoformat()


def test_load_fixtures_as_recorded_keeps_dates(fhir_server, tmp_path):
    write_case(tmp_path, "cli-3")
    args = ["load-fixtures", "--fhir-server", fhir_server.base_url, "--cases", str(tmp_path), "--as-recorded"]
    assert main(args) == 0
    assert read_patient(fhir_server, "cli-3")["birthDate"] == "1958-04-02"


def test_load_fixtures_without_cases_fails(fhir_server, tmp_path, capsys):
    assert main(["load-fixtures", "--fhir-server", fhir_server.base_url, "--cases", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("backpain-cds load-fixtures: error: no fixture bundles") and err.count("\n") == 1


def test_evaluate_from_bundle_equals_evaluate_from_fhir_server(fhir_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal, so table cells do not wrap mid-word
    case = next(c for c in list_cases() if c.name == "C1--in--leg-weakness-with-breast-cancer")
    shutil.copytree(case.path, tmp_path / case.name)
    load = ["load-fixtures", "--fhir-server", fhir_server.base_url, "--cases", str(tmp_path), "--as-recorded"]
    assert main(load) == 0
    capsys.readouterr()
    as_of = ["--as-of", case.as_of.isoformat()]
    assert main(["evaluate", "--bundle", str(case.path / "bundle.json"), "--json", *as_of]) == 0
    from_bundle = json.loads(capsys.readouterr().out)
    fetch = ["--fhir-server", fhir_server.base_url, "--patient", case.patient_id]
    assert main(["evaluate", *fetch, "--json", *as_of]) == 0
    from_server = json.loads(capsys.readouterr().out)
    assert from_bundle == from_server
    [card] = from_server["cards"]
    assert main(["evaluate", *fetch, *as_of]) == 0
    screen = capsys.readouterr().out
    assert "CRITICAL" in screen and "tier: C1" in screen
    assert card["summary"][:40] in screen
    assert "Evidence" in screen and "Condition/c1a-neuro" in screen
    assert "Proposed orders" in screen and "30854-4" in screen


def test_evaluate_explains_a_412(capsys, tmp_path):
    code = main(["evaluate", "--fhir-server", "http://127.0.0.1:9/fhir", "--patient", "nobody"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    # stderr: the log lines of the failed callbacks (JSON), then the one error line
    *logged, last = captured.err.splitlines()
    assert last.startswith("backpain-cds evaluate: error: ") and "patient (Patient)" in last
    assert all(line.startswith("{") for line in logged) and "Traceback" not in captured.err


def test_evaluate_says_when_the_patient_does_not_exist(fhir_server, capsys):
    code = main(["evaluate", "--fhir-server", fhir_server.base_url, "--patient", "no-such-patient"])
    assert code == 1
    assert "patient 'no-such-patient' was not found" in capsys.readouterr().err


def test_sandbox_story_shifted_fixtures_give_the_documented_card_today(fhir_server_with_token, tmp_path, capsys):
    """load-fixtures (dates moved to today), then evaluate at the real clock: the golden indicator and summary."""
    server = fhir_server_with_token
    case = next(c for c in list_cases() if c.name == "C2--in--new-back-pain-after-breast-cancer")
    shutil.copytree(case.path, tmp_path / case.name)
    assert (
        main(["load-fixtures", "--fhir-server", server.base_url, "--token", TEST_TOKEN, "--cases", str(tmp_path)]) == 0
    )
    capsys.readouterr()
    fetch = ["--fhir-server", server.base_url, "--token", TEST_TOKEN, "--patient", case.patient_id, "--json"]
    assert main(["evaluate", *fetch]) == 0
    [card] = json.loads(capsys.readouterr().out)["cards"]
    [golden] = case.expected()["cards"]
    assert (card["indicator"], card["summary"]) == (golden["indicator"], golden["summary"])


def transaction_export(case_name: str) -> dict:
    """A fixture case as a transaction Bundle with urn:uuid fullUrls and references, like a Synthea export."""
    case = next(c for c in list_cases() if c.name == case_name)
    uuids = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:00000000-0000-4000-8000-{n:012d}" for n, r in
             enumerate(case.resources())}

    def rewrite(value):
        if isinstance(value, dict):
            out = {k: rewrite(v) for k, v in value.items()}
            if out.get("reference") in uuids:
                out["reference"] = uuids[out["reference"]]
            return out
        return [rewrite(v) for v in value] if isinstance(value, list) else value

    entries = [
        {"fullUrl": uuids[f"{r['resourceType']}/{r['id']}"], "resource": rewrite(r),
         "request": {"method": "POST", "url": r["resourceType"]}}
        for r in case.resources()
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.mark.parametrize(
    "case_name", ["C1--in--leg-weakness-with-breast-cancer", "F5--out--glp1-agonist-by-reference"]
)
def test_evaluate_bundle_resolves_urn_uuid_references(case_name, tmp_path, capsys):
    case = next(c for c in list_cases() if c.name == case_name)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(transaction_export(case_name)))
    code = main(["evaluate", "--bundle", str(path), "--as-of", case.as_of.isoformat(), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    response = json.loads(out[out.index("{"):])
    assert [c["indicator"] for c in response["cards"]] == [c["indicator"] for c in case.expected()["cards"]]
    assert [c["summary"] for c in response["cards"]] == [c["summary"] for c in case.expected()["cards"]]


async def test_evaluate_bundle_reads_synthea_exports_through_their_urn_uuid_references():
    files = sorted((shared_dir() / "data" / "synthea-r4").glob("*.json"))
    assert len(files) >= 30, "the Synthea exports of ../shared are needed"
    for path in files[::10]:  # three of them: each run loads the knowledge, like the command does
        bundle = json.loads(path.read_text(encoding="utf-8"))
        conditions = sum(e["resource"]["resourceType"] == "Condition" for e in bundle["entry"])
        args = argparse.Namespace(bundle=path, fhir_server=None, patient=None, token=None, as_of=None, json=True)
        when = When(datetime(2026, 11, 25, 12, tzinfo=UTC), "test")
        record, result, _ = await run_once(args, settings(), when)
        assert len(record.of("patient")) == 1, path.name
        assert len(record.of("conditions")) == conditions, path.name  # every urn:uuid subject resolved
        assert result.cards == [], path.name  # Synthea patients have no red flags (tests/test_synthea.py)
