"""docs/monitoring (issue 18): alert rules pass ``promtool check rules`` and their unit tests, and the Grafana
dashboard is valid against its JSON Schema and only queries series the service or the rules produce."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from prometheus_client import REGISTRY

from tests.support.app import client_for, settings_for

MONITORING = Path(__file__).resolve().parent.parent / "docs" / "monitoring"
RULES = MONITORING / "prometheus-rules.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "grafana-dashboard.schema.json"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: run scripts/test (installs the Debian package `prometheus`)")
    return found


def test_alert_rules_pass_promtool_check() -> None:
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = subprocess.run([_promtool(), "test", "rules", "prometheus-rules.test.yml"], cwd=MONITORING,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _rules() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_issue_alerts_are_all_there() -> None:
    alerts = {str(rule["alert"]) for rule in _rules() if "alert" in rule}
    assert {"BackpainCdsTierStoppedFiring", "BackpainCdsTierFiringTripled", "BackpainCdsHigh5xxRate",
            "BackpainCdsHighFhirFailureRate"} <= alerts


def _exported_names(tmp_path: Path) -> set[str]:
    """Every series name the service can export, labelled families included before their first sample."""
    with client_for(settings_for(tmp_path)) as client:
        assert client.get("/metrics").status_code == 200
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {m.name + suffix for m in REGISTRY.collect() for suffix in suffixes.get(m.type, ("",))}


def _metric_names(expr: str) -> set[str]:
    """The series names an expression reads (label matchers and strings removed first)."""
    bare = re.sub(r"\{[^}]*\}", "", re.sub(r"\"[^\"]*\"", "", expr))
    return set(re.findall(r"\bbackpain_cds[a-zA-Z0-9_:]*", bare))


def _known(tmp_path: Path) -> set[str]:
    return _exported_names(tmp_path) | {str(r["record"]) for r in _rules() if "record" in r}


def test_dashboard_matches_the_schema_and_queries_only_existing_series(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(dashboard)
    used = {name for panel in dashboard["panels"] for t in panel["targets"] for name in _metric_names(t["expr"])}
    assert len(used) >= 10
    assert used - _known(tmp_path) == set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])


def test_rules_query_only_series_the_service_exports(tmp_path: Path) -> None:
    used = {name for rule in _rules() for name in _metric_names(str(rule["expr"]))}
    assert {"backpain_cds_cards_total", "backpain_cds_requests_total", "backpain_cds_fhir_errors_total"} <= used
    assert used - _known(tmp_path) == set()
