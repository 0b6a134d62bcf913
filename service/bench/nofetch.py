"""The no-prefetch workload: the service reads the typical patient from a loopback FHIR test server.

The patient's resources are loaded into the Medplum test server (``tests/support/fhir_server.py``), the
request carries ``fhirServer`` and no prefetch, and the FHIR server's own time is measured apart by
running the same queries directly, in parallel as the service does (``fhir_query_ms_p50``), and in one
FHIR batch as the service sends them to a server that takes batches (``fhir_batch_ms_p50``; the report
does not show it). Until the test server and the
service's FHIR callbacks are both on the branch, the workload reports itself as unavailable.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from service.bench.bodies import Body, hook_request
from service.cdshooks.models import PatientViewContext
from service.fhir.batch import batch_body
from service.fhir.query import render
from service.knowledge.service_spec import ServiceSpec
from service.settings import REPO_ROOT

PAGE_SIZE = 50
MAX_CONNECTIONS = 8
QUERY_ROUNDS = 50


def _fhir_support() -> Any:
    """The Medplum test-server helpers of the checkout (``tests/support/fhir_server.py``), loaded by path.

    By path, not as ``tests.support``: a console script's ``sys.path`` holds the venv, not the checkout,
    and some installed distributions ship a top-level ``tests`` package of their own.
    """
    path = REPO_ROOT / "tests" / "support" / "fhir_server.py"
    spec = importlib.util.spec_from_file_location("backpain_bench_fhir_server", path)
    if not path.exists() or spec is None or spec.loader is None:
        return f"FHIR test server support is not in this checkout ({path} is missing)"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[spec.name]
        return f"FHIR test server support cannot be loaded ({exc})"
    return module


async def _one_query(http: aiohttp.ClientSession, url: str) -> None:
    next_url: str | None = url
    for _ in range(20):
        if next_url is None:
            return
        async with http.get(next_url, headers={"Accept": "application/fhir+json"}) as response:
            response.raise_for_status()
            bundle = orjson.loads(await response.read())
        next_url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)


async def fhir_query_ms(base_url: str, spec: ServiceSpec, patient_id: str, rounds: int) -> list[float]:
    """Wall time (ms) of all the prefetch queries, sent in parallel, once per round: the FHIR server's own time.

    The URLs are rendered exactly as the service renders them (``patient=Patient/<id>``, encoded token
    parameters), so the same searches, with the same result sizes and pages, are timed, through a bare
    aiohttp session (the service's client library) so that little but the server's work is in the figure.
    """
    context = PatientViewContext(user_id="Practitioner/bench", patient_id=patient_id)
    urls = [f"{base_url}/{render(t.query, context).relative_url()}" for t in spec.prefetch.values()]
    timings: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10.0)) as http:
        await asyncio.gather(*(_one_query(http, url) for url in urls))  # connections opened, not timed
        for _ in range(rounds):
            started = time.perf_counter()
            await asyncio.gather(*(_one_query(http, url) for url in urls))
            timings.append(1000 * (time.perf_counter() - started))
    return timings


async def fhir_batch_ms(base_url: str, spec: ServiceSpec, patient_id: str, rounds: int) -> list[float]:
    """Wall time (ms) of the same queries in one FHIR batch POST, later pages by GET in parallel: the server's
    own time for what the service sends to a server that takes batches (:mod:`service.fhir.batch`)."""
    context = PatientViewContext(user_id="Practitioner/bench", patient_id=patient_id)
    body = batch_body([render(t.query, context) for t in spec.prefetch.values()])
    headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}

    async def once(http: aiohttp.ClientSession) -> None:
        async with http.post(base_url, data=body, headers=headers) as response:
            response.raise_for_status()
            answer = orjson.loads(await response.read())
        nexts = [link["url"] for entry in answer.get("entry", []) for link in entry.get("resource", {}).get("link", [])
                 if link.get("relation") == "next"]
        await asyncio.gather(*(_one_query(http, url) for url in nexts))

    timings: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10.0)) as http:
        await once(http)
        for _ in range(rounds):
            started = time.perf_counter()
            await once(http)
            timings.append(1000 * (time.perf_counter() - started))
    return timings


def run(body: Body, spec: ServiceSpec, workdir: Path, options: Any) -> dict[str, Any]:
    """Measure the service without prefetch; ``{"status": "unavailable", "reason": ...}`` when it cannot."""
    from service.bench.runner import run_target

    support = _fhir_support()
    if isinstance(support, str):
        return {"status": "unavailable", "reason": support}
    with support.running_fhir_server(page_size=PAGE_SIZE) as fhir:
        asyncio.run(fhir.load(body.resources))
        request = hook_request(body.patient_id, None, fhir_server=fhir.base_url)
        nofetch_body = Body("no-prefetch", body.patient_id, body.source, body.counts, request)
        rounds = max(5, min(QUERY_ROUNDS, options.micro_iterations // 20))
        fhir_ms = asyncio.run(fhir_query_ms(fhir.base_url, spec, body.patient_id, rounds))
        batch_ms = asyncio.run(fhir_batch_ms(fhir.base_url, spec, body.patient_id, rounds))
        try:
            # The in-memory Medplum server is one Node.js thread: past a handful of concurrent patients it
            # saturates and the service's FHIR deadline answers 412, so higher levels measure Medplum, not us.
            levels = [c for c in options.connections if c <= MAX_CONNECTIONS] or [1]
            # Warmed up at the first level, not the highest: an overloaded test server misses the deadline,
            # and a batch that misses it turns batching off for that server for minutes (capability.py), so
            # a warm-up at c=8 made the c=1 figures measure the unbatched path.
            service = run_target("service", nofetch_body, workdir, replace(options, connections=levels),
                                 "no-prefetch-service", warmup_connections=levels[0])
        except RuntimeError as exc:
            return {"status": "unavailable", "reason": f"service cannot read from fhirServer yet: {exc}"}
    return {"status": "measured", "request_bytes": len(orjson.dumps(request)),
            "fhir_query_ms_p50": statistics.median(fhir_ms), "fhir_query_rounds": rounds,
            "fhir_batch_ms_p50": statistics.median(batch_ms),
            "service": asdict(service)}
