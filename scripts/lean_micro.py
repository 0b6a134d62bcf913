"""In-process CPU per request of the lean request path (issue 17), driven straight through ASGI.

No server and no sockets: each figure is process CPU time over many requests, the minimum of several
repeats (the machine may be shared). It prints µs per request for

- ``layers``: the HTTP layers in front of FastAPI around a do-nothing endpoint, minus that endpoint alone;
- ``log``: the access-log line and the request metrics;
- ``card``: building the card of a fixture case and serialising the response;
- ``small`` / ``typical``: a whole invocation of the service and of the floor app on the same body.

Run: ``.venv/bin/python scripts/lean_micro.py 2>/dev/null`` (log lines go to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from service.bench.bodies import HOOK_INSTANCE, typical_body
from service.bench.floor import create_app as create_floor
from service.cdshooks.models import HookResponse, wire_json
from service.engine import evaluate
from service.fixtures_catalog import Case, list_cases
from service.knowledge import Knowledge, load_knowledge
from service.main import create_app, tune_gc
from service.settings import REPO_ROOT, Settings

SMALL_CASE = "F8--in--epic-medication-references-and-outcome-entries"
ASGI = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
                Awaitable[None]]


def scope_for(method: str, path: str, body: bytes, origin: bool = True) -> dict[str, Any]:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if origin:
        headers.append((b"origin", b"http://127.0.0.1:8080"))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080), "state": {}}


async def drive(app: ASGI, method: str, path: str, body: bytes, n: int) -> tuple[float, int]:
    """CPU seconds per request over ``n`` requests, and the last status."""
    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    started = time.process_time()
    for _ in range(n):
        await app(scope_for(method, path, body), receive, send)
    return (time.process_time() - started) / n, status


def best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(repeats))


async def _noop(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def layers_old(settings: Settings) -> ASGI:
    """The middleware stack of main.py before issue 17, around ``_noop`` (when the classes still exist)."""
    from starlette.middleware.cors import CORSMiddleware

    from service.api.access_log import AccessLogMiddleware  # type: ignore[attr-defined]
    from service.api.handlers import ErrorShieldMiddleware  # type: ignore[attr-defined]
    from service.api.paths import CanonicalPathMiddleware  # type: ignore[attr-defined]
    from service.security.limits import BodyLimitMiddleware

    app: Any = ErrorShieldMiddleware(_noop)
    app = BodyLimitMiddleware(app, settings.max_body_bytes, settings.http_body_timeout_seconds)
    app = AccessLogMiddleware(app)
    app = CORSMiddleware(app, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                         allow_headers=["Authorization", "Content-Type"], max_age=600)
    return CanonicalPathMiddleware(app)  # type: ignore[no-any-return]


def layers_new(settings: Settings) -> ASGI | None:
    try:
        from service.api.edge import EdgeLayer  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return EdgeLayer.for_settings(_noop, settings)  # type: ignore[no-any-return]


def card_steps(knowledge: Knowledge, case: Case) -> dict[str, Callable[[], object]]:
    record = case.record(knowledge.service)
    result = evaluate(record, knowledge, case.as_of, case.hook_instance)
    from service import render

    steps: dict[str, Callable[[], object]] = {
        "serialise (pydantic)": lambda: wire_json(HookResponse(cards=result.cards)),
    }
    from service.assessment import assess, decide
    from service.facts import build_facts

    types = {key: spec.resource_type for key, spec in knowledge.service.prefetch.items()}
    facts = build_facts(record, types, case.as_of, knowledge.relevance.keep, knowledge.text)
    a = assess(facts, knowledge, case.as_of)
    tier = decide(a, knowledge.config.tiers, knowledge)
    assert tier is not None
    steps["render_card"] = lambda: render.render_card(a, tier, knowledge, case.as_of, case.hook_instance)
    steps["render_card + serialise"] = lambda: wire_json(
        HookResponse(cards=[render.render_card(a, tier, knowledge, case.as_of, case.hook_instance)]))
    fast = getattr(render, "render_wire", None)
    if fast is not None:
        from service.cdshooks.models import Card, response_json  # type: ignore[attr-defined, unused-ignore]

        def hot_path() -> bytes:
            wire = fast(a, tier, knowledge, case.as_of, case.hook_instance)
            Card.model_validate(wire)  # the engine also hands wire models to the card record
            return bytes(response_json([wire]))

        steps["render_wire + orjson"] = lambda: response_json([fast(a, tier, knowledge, case.as_of,
                                                                    case.hook_instance)])
        steps["render_wire + validate + orjson (hot path)"] = hot_path
        ready = fast(a, tier, knowledge, case.as_of, case.hook_instance)
        steps["orjson of the wire card"] = lambda: response_json([ready])
    return steps


def log_steps(settings: Settings) -> dict[str, Callable[[], object]]:
    """The access-log line through structlog as before, through ``log_access`` when it exists; the metrics."""
    import structlog

    from service import logging as service_logging
    from service.logging import configure_logging
    from service.metrics import observe_request

    configure_logging("INFO", True)
    fields = {"method": "POST", "path": "/cds-services/back-pain-red-flags", "status": 200, "latency_ms": 1.23,
              "service": "back-pain-red-flags", "hook_instance": HOOK_INSTANCE, "tier": "C3", "cards": 1}
    logger = structlog.get_logger("service.access")
    steps: dict[str, Callable[[], object]] = {
        "log line via structlog": lambda: logger.info("request", **fields),
        "metrics observe_request": lambda: observe_request("/cds-services/{service_id}", 200, 0.001, "C3", 1),
    }
    fast = getattr(service_logging, "log_access", None)
    if fast is not None:
        steps["log line via log_access"] = lambda: fast(dict(fields))
    return steps


def timeit(step: Callable[[], object], n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        step()
    return (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, repeats = args.n, args.repeats
    knowledge = load_knowledge(REPO_ROOT / "cards")
    case = next(c for c in list_cases() if c.name == SMALL_CASE)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{Path(tmp) / 'cds.db'}",  # type: ignore[call-arg]
                            log_json=True)
        small = orjson.dumps({"hook": "patient-view", "hookInstance": HOOK_INSTANCE,
                              "context": {"userId": "Practitioner/example", "patientId": case.patient_id},
                              "prefetch": case.prefetch(knowledge.service)})
        typical = typical_body(knowledge.service).payload
        as_of: datetime = case.as_of
        app = create_app(settings, clock=lambda: as_of, knowledge=knowledge)
        floor = create_floor()
        loop = asyncio.new_event_loop()
        lifespan: dict[str, Any] = {}
        # Start the lifespans (the service's tune_gc, the floor's nothing), then time.
        for target in (app, floor):
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def lifespan_send(message: dict[str, Any], q: asyncio.Queue[dict[str, Any]] = queue) -> None:
                await q.put(message)

            queue_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            queue_in.put_nowait({"type": "lifespan.startup"})
            task = loop.create_task(target({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           queue_in.get, lifespan_send))
            loop.run_until_complete(queue.get())
            lifespan[id(target)] = (task, queue_in)
        tune_gc()
        results: dict[str, float] = {}

        def run(target: ASGI, method: str, path: str, body: bytes, count: int) -> float:
            seconds, status = loop.run_until_complete(drive(target, method, path, body, count))
            assert status == 200, status
            return seconds

        url = "/cds-services/back-pain-red-flags"
        noop = best(lambda: run(_noop, "POST", url, small, n * 5), repeats)
        old = layers_old(settings) if hasattr(__import__("service.api.paths").api.paths,
                                              "CanonicalPathMiddleware") else None
        if old is not None:
            results["layers before (µs)"] = best(lambda: run(old, "POST", url, small, n * 5), repeats) - noop
        new = layers_new(settings)
        if new is not None:
            results["layers after (µs)"] = best(lambda: run(new, "POST", url, small, n * 5), repeats) - noop
        for name, step in log_steps(settings).items():
            results[f"log: {name} (µs)"] = best(lambda s=step: timeit(s, n * 5), repeats)  # type: ignore[misc]
        for name, step in card_steps(knowledge, case).items():
            results[f"card: {name} (µs)"] = best(lambda s=step: timeit(s, n), repeats)  # type: ignore[misc]
        for label, body in (("small", small), ("typical", typical)):
            service = best(lambda b=body: run(app, "POST", url, b, n // 4), repeats)  # type: ignore[misc]
            floor_cpu = best(lambda b=body: run(floor, "POST", url, b, n // 4), repeats)  # type: ignore[misc]
            results[f"{label} ({len(body)} B): service (µs)"] = service
            results[f"{label} ({len(body)} B): floor (µs)"] = floor_cpu
            results[f"{label}: ratio"] = service / floor_cpu
            card_log, app.state.backpain.card_log = app.state.backpain.card_log, None
            alone = best(lambda b=body: run(app, "POST", url, b, n // 4), repeats)  # type: ignore[misc]
            app.state.backpain.card_log = card_log
            results[f"{label}: service without the card record (µs)"] = alone
            results[f"{label}: ratio without the card record"] = alone / floor_cpu
        for task, queue_in in lifespan.values():
            queue_in.put_nowait({"type": "lifespan.shutdown"})
            loop.run_until_complete(asyncio.wait_for(task, 10))
    for name, value in results.items():
        print(f"{name:48s} {value * 1e6:9.1f}" if "(µs)" in name else f"{name:48s} {value:9.2f}")


if __name__ == "__main__":
    main()
