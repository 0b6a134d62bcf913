"""Measures one server at each concurrency level: wrk's latency and rate, the server's CPU and memory.

Before the levels, one request checks that the server answers the body with 200 and cards, and a
warm-up run at the highest level fills caches and lets the allocator settle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from service.bench import procstat
from service.bench.production import BenchIssuer
from service.bench.server import Server
from service.bench.wrk import run_wrk
from service.fhir.transport import default_ssl_context

SERVICE_PATH = "/cds-services/back-pain-red-flags"
SERVER_CPU = 0
WRK_CPU = 1


@dataclass(frozen=True)
class Level:
    """One concurrency level of one server."""

    connections: int
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_request: float
    other_cpu0_pct: float
    other_cpu1_pct: float
    noisy: bool


@dataclass
class TargetRun:
    """A server (floor or service) through all levels, with its memory at the end."""

    target: str
    peak_rss_mib: float = 0.0
    rss_mib: float = 0.0
    levels: list[Level] = field(default_factory=list)


def check_answer(server: Server, body: bytes, issuer: BenchIssuer | None = None) -> None:
    headers = {"Content-Type": "application/json", **(issuer.headers(SERVICE_PATH) if issuer else {})}
    response = httpx.post(server.url + SERVICE_PATH, content=body, timeout=30.0, headers=headers,
                          verify=default_ssl_context())
    if response.status_code != 200 or "cards" not in orjson.loads(response.content):
        raise RuntimeError(f"{server.url} answered {response.status_code}: {response.text[:300]}")


def _tokens(issuer: BenchIssuer | None, body_file: Path, seconds: float) -> Path | None:
    return None if issuer is None else issuer.token_file(body_file.parent, SERVICE_PATH, seconds)


def measure_level(server: Server, body_file: Path, script: Path, connections: int, seconds: float,
                  noise_threshold_pct: float, issuer: BenchIssuer | None = None) -> Level:
    tokens = _tokens(issuer, body_file, seconds)  # minted before the CPU counters start
    cpu_before, machine_before = procstat.cpu_seconds(server.pid), procstat.cpu_times()
    result = run_wrk(server.url, SERVICE_PATH, body_file, script, connections=connections, seconds=seconds,
                     cpu=WRK_CPU, tokens=tokens)
    server_cpu = procstat.cpu_seconds(server.pid) - cpu_before
    machine = procstat.cpu_times().minus(machine_before)
    other0 = 100 * procstat.other_use(machine, SERVER_CPU, server_cpu)
    other1 = 100 * procstat.other_use(machine, WRK_CPU, result.wrk_cpu_seconds)
    requests = max(result.requests, 1)
    return Level(connections, result.requests, result.errors, result.requests_per_second, result.p50_ms,
                 result.p90_ms, result.p99_ms, result.max_ms, 1000 * server_cpu / requests,
                 round(other0, 1), round(other1, 1), max(other0, other1) > noise_threshold_pct)


def measure_target(target: str, server: Server, body_file: Path, script: Path, *, connections: list[int],
                   seconds: float, warmup: float, noise_threshold_pct: float,
                   issuer: BenchIssuer | None = None, warmup_connections: int | None = None) -> TargetRun:
    """``issuer``: every request carries a fresh token of it (the production-profile workload).

    The warm-up runs at the highest level unless ``warmup_connections`` says otherwise.
    """
    check_answer(server, body_file.read_bytes(), issuer)
    if warmup > 0:
        run_wrk(server.url, SERVICE_PATH, body_file, script, connections=warmup_connections or max(connections),
                seconds=warmup,
                cpu=WRK_CPU, tokens=_tokens(issuer, body_file, warmup))
    run = TargetRun(target)
    for count in connections:
        run.levels.append(measure_level(server, body_file, script, count, seconds, noise_threshold_pct, issuer))
    run.peak_rss_mib, run.rss_mib = procstat.memory_mib(server.pid)
    return run
