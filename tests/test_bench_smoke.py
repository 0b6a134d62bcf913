"""Runs ``backpain-cds bench --tiny`` end to end and checks the shape of its JSON (never its timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main

LOAD_WORKLOADS = ("typical", "large")

# The bodies are built from Synthea patients of the shared data folder: fail, naming it, when it is missing.
pytestmark = pytest.mark.usefixtures("shared_synthea")


def _positive_level(level: dict[str, object]) -> None:
    for key in ("requests", "requests_per_second", "p50_ms", "p99_ms", "cpu_ms_per_request"):
        value = level[key]
        assert isinstance(value, int | float) and value > 0, f"{key} = {value!r}"
    assert level["errors"] == 0
    assert isinstance(level["noisy"], bool)


def test_tiny_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    assert main(["bench", "--tiny", "--json", str(path)]) == 0

    results = json.loads(path.read_text())
    assert path.with_suffix(".md").read_text().count("| typical |") >= 2
    assert results["bodies"]["typical"]["resources"] > 10
    assert results["bodies"]["large"]["resources"] > results["bodies"]["typical"]["resources"]
    [one_pass] = results["passes"]
    assert set(one_pass["workloads"]) == {"typical", "large", "no-prefetch"}
    for name in LOAD_WORKLOADS:
        workload = one_pass["workloads"][name]
        for target in ("floor", "service"):
            run = workload[target]
            assert run["peak_rss_mib"] > 0
            assert [lv["connections"] for lv in run["levels"]] == [1]
            _positive_level(run["levels"][0])
        [ratio] = workload["ratios"]["levels"]
        assert all(ratio[k] > 0 for k in ("cpu_ms_per_request", "requests_per_second", "p99_ms"))
        assert workload["ratios"]["peak_rss_mib"] > 0

    nofetch = one_pass["workloads"]["no-prefetch"]
    if nofetch["status"] == "measured":
        _positive_level(nofetch["service"]["levels"][0])
        assert nofetch["fhir_query_ms_p50"] > 0
    else:
        assert nofetch["status"] == "unavailable" and nofetch["reason"]

    checks = {(c["workload"], c["check"]): c for c in one_pass["checks"]}
    assert checks[("typical", "p99 ms at c=1")]["ok"] in (True, False)
    assert checks[("typical", "p99 ms at c=8")]["ok"] is None  # c=8 is not part of a tiny run
    for body in ("typical", "large"):
        steps = results["micro"][body]
        assert set(steps) == {"parse", "gather", "evaluate", "serialize"}
        assert all(step["median_us"] > 0 and step["iterations"] > 0 for step in steps.values())
