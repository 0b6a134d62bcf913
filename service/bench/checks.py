"""Ratios to the floor and the issue's targets, computed per pass from the raw results.

A ratio is the service's figure over the floor's, measured in the same pass on the same body. Checks
that need a level that was not measured (e.g. concurrency 8 in a ``--tiny`` run) have ``ok: None``.
"""

from __future__ import annotations

from typing import Any

from service.bench.production import ALGORITHM_OF


def _level(run: dict[str, Any], connections: int) -> dict[str, Any] | None:
    return next((lv for lv in run["levels"] if lv["connections"] == connections), None)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else 0.0


def ratios(workload: dict[str, Any]) -> dict[str, Any]:
    """Service over floor, per concurrency level, plus the peak memory ratio."""
    floor, service = workload["floor"], workload["service"]
    levels = []
    for lv in service["levels"]:
        base = _level(floor, lv["connections"])
        if base is None:
            continue
        levels.append({"connections": lv["connections"],
                       "cpu_ms_per_request": _ratio(lv["cpu_ms_per_request"], base["cpu_ms_per_request"]),
                       "requests_per_second": _ratio(lv["requests_per_second"], base["requests_per_second"]),
                       "p50_ms": _ratio(lv["p50_ms"], base["p50_ms"]), "p99_ms": _ratio(lv["p99_ms"], base["p99_ms"])})
    return {"levels": levels, "peak_rss_mib": _ratio(service["peak_rss_mib"], floor["peak_rss_mib"])}


def _check(name: str, value: float | None, limit: float, *, at_least: bool = False) -> dict[str, Any]:
    ok = None if value is None else (value >= limit if at_least else value <= limit)
    return {"check": name, "value": value, "limit": (">= " if at_least else "<= ") + f"{limit:g}", "ok": ok}


def _get(run: dict[str, Any], connections: int, key: str) -> float | None:
    level = _level(run, connections)
    return None if level is None else float(level[key])


def _ratio_at(r: dict[str, Any], connections: int, key: str) -> float | None:
    return next((float(lv[key]) for lv in r["levels"] if lv["connections"] == connections), None)


def _worst_cpu(r: dict[str, Any]) -> float | None:
    return max((float(lv["cpu_ms_per_request"]) for lv in r["levels"]), default=None)


# Issue 17: CPU per request over the floor's, same pass, every level (the worst counts): 6 kB, 86 kB,
# 215 kB (medium) and 890 kB (large) bodies.
CPU_RATIO_TARGETS = {"small": 1.5, "typical": 1.2, "medium": 0.6, "large": 0.35}
P99_C1_TARGETS_MS = {"small": 5.0, "typical": 5.0, "medium": 100.0, "large": 100.0, "notes": 150.0}
AUTH_TARGET_MS = 0.5
NOFETCH_CPU_TARGET_MS = 3.0
NOFETCH_WALL_TARGET = 1.2
FETCH_CPU_CHECK = "fetching CPU ms/request: minus the prefetch path's (c=1)"


def workload_checks(name: str, workload: dict[str, Any], r: dict[str, Any]) -> list[dict[str, Any]]:
    service = workload["service"]
    checks = [_check("peak memory vs floor", r["peak_rss_mib"], 2.0)]
    if name in CPU_RATIO_TARGETS:
        checks.insert(0, _check("CPU ms/request vs floor (worst level)", _worst_cpu(r), CPU_RATIO_TARGETS[name]))
    if name in P99_C1_TARGETS_MS:
        checks.append(_check("p99 ms at c=1", _get(service, 1, "p99_ms"), P99_C1_TARGETS_MS[name]))
    if name == "typical":
        checks += [_check("requests/s vs floor at c=8", _ratio_at(r, 8, "requests_per_second"), 0.7, at_least=True),
                   _check("p99 ms at c=8", _get(service, 8, "p99_ms"), 25.0)]
    if name in ALGORITHM_OF:
        checks.append(_check("errors (each token is used once)", float(sum(lv["errors"] for lv in service["levels"])),
                             0.0))
    return checks


def auth_checks(production: dict[str, Any], small: dict[str, Any] | None) -> list[dict[str, Any]]:
    """JWT verification + replay check: a production workload's CPU/request minus the small one's (c=1)."""
    mine = _get(production["service"], 1, "cpu_ms_per_request")
    base = None if small is None else _get(small["service"], 1, "cpu_ms_per_request")
    value = None if mine is None or base is None else round(mine - base, 3)
    production["auth_cpu_ms_per_request"] = value
    return [_check("JWT + replay CPU ms/request (vs small, c=1)", value, AUTH_TARGET_MS)]


def nofetch_checks(nofetch: dict[str, Any], typical: dict[str, Any] | None) -> list[dict[str, Any]]:
    """CPU per invocation, wall time against the FHIR server's own, own time against the prefetch path.

    Also the CPU of fetching alone: the invocation's CPU minus the typical prefetch body's (same patient,
    same pass, c=1), which is the same parse, rules and card without the FHIR queries.
    """
    if nofetch.get("status") != "measured":
        return [_check("CPU ms/request (c=1)", None, NOFETCH_CPU_TARGET_MS),
                _check(FETCH_CPU_CHECK, None, NOFETCH_CPU_TARGET_MS),
                _check("p50 wall vs FHIR server's own p50 (c=1)", None, NOFETCH_WALL_TARGET),
                _check("own time vs prefetch path (p50, c=1)", None, 2.0)]
    total = _get(nofetch["service"], 1, "p50_ms")
    server = nofetch["fhir_query_ms_p50"]
    prefetch = None if typical is None else _get(typical["service"], 1, "p50_ms")
    own = None if total is None else max(total - server, 0.0)
    value = None if own is None or not prefetch else round(own / prefetch, 3)
    nofetch["own_p50_ms"] = own
    wall = None if total is None or server <= 0 else round(total / server, 3)
    cpu = _get(nofetch["service"], 1, "cpu_ms_per_request")
    prefetch_cpu = None if typical is None else _get(typical["service"], 1, "cpu_ms_per_request")
    fetch_cpu = None if cpu is None or prefetch_cpu is None else round(cpu - prefetch_cpu, 3)
    nofetch["fetch_cpu_ms_per_request"] = fetch_cpu
    return [_check("CPU ms/request (c=1)", cpu, NOFETCH_CPU_TARGET_MS),
            _check(FETCH_CPU_CHECK, fetch_cpu, NOFETCH_CPU_TARGET_MS),
            _check("p50 wall vs FHIR server's own p50 (c=1)", wall, NOFETCH_WALL_TARGET),
            _check("own time vs prefetch path (p50, c=1)", value, 2.0)]


def annotate(results: dict[str, Any]) -> dict[str, Any]:
    """Adds ``ratios`` to each measured workload and ``checks`` to each pass; returns ``results``."""
    for one_pass in results["passes"]:
        checks: list[dict[str, Any]] = []
        workloads = one_pass["workloads"]
        for name, workload in workloads.items():
            if name == "no-prefetch":
                found = nofetch_checks(workload, workloads.get("typical"))
            else:
                workload["ratios"] = ratios(workload)
                found = workload_checks(name, workload, workload["ratios"])
                if name in ALGORITHM_OF:
                    found += auth_checks(workload, workloads.get("small"))
            checks += [{"workload": name, **c} for c in found]
        one_pass["checks"] = checks
        one_pass["noisy"] = any(lv["noisy"] for name, w in workloads.items() if name != "no-prefetch"
                                for t in ("floor", "service") for lv in w[t]["levels"])
    return results
