"""In-process micro-benchmark of the request path, step by step, on the benchmark's bodies.

No server, no network, no scheduler between steps: the most stable figure the benchmark has. Steps:
``parse`` (orjson + HookRequest), ``gather`` (prefetch path), ``evaluate`` (the engine) and
``serialize`` (the cards to response bytes as the route answers them), each timed on its own with
``perf_counter_ns``. :mod:`service.bench.micro_auth` adds the JWT verification per algorithm.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from service.api.hooks import answer_json
from service.api.parsing import parse_body
from service.bench.bodies import Body
from service.cdshooks.models import HookRequest
from service.clock import system_clock
from service.engine import evaluate
from service.gather import gather
from service.knowledge import Knowledge
from service.settings import Settings

T = TypeVar("T")


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine that never waits (the prefetch path) without an event loop's overhead."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("the coroutine waited: it needs an event loop")


def timed(step: Callable[[], object], iterations: int, max_seconds: float) -> dict[str, float]:
    """Median and p99 in µs of ``step`` over at most ``iterations`` calls or ``max_seconds``."""
    samples: list[int] = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(iterations):
        started = time.perf_counter_ns()
        step()
        samples.append(time.perf_counter_ns() - started)
        if time.perf_counter() > deadline:
            break
    samples.sort()
    return {"median_us": statistics.median(samples) / 1000,
            "p99_us": samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000,
            "iterations": len(samples)}


def steps_for(body: Body, knowledge: Knowledge, settings: Settings) -> dict[str, Callable[[], object]]:
    payload = body.payload
    request = parse_body(payload, HookRequest)
    spec = knowledge.service
    try:
        record = run_now(gather(request, spec, settings, None))
        gather_step: Callable[[], object] = lambda: run_now(gather(request, spec, settings, None))  # noqa: E731
    except RuntimeError:
        record = asyncio.run(gather(request, spec, settings, None))
        gather_step = lambda: asyncio.run(gather(request, spec, settings, None))  # noqa: E731
    now = system_clock()
    result = evaluate(record, knowledge, now, request.hook_instance)
    return {
        "parse": lambda: parse_body(payload, HookRequest),
        "gather": gather_step,
        "evaluate": lambda: evaluate(record, knowledge, now, request.hook_instance),
        "serialize": lambda: answer_json(result),
    }


def run_micro(bodies: list[Body], knowledge: Knowledge, settings: Settings, *, iterations: int,
              max_seconds: float = 10.0) -> dict[str, dict[str, dict[str, float]]]:
    """``{body: {step: {median_us, p99_us, iterations}}}``, with the service's GC tuning applied."""
    from service.gc_tuning import tune_gc

    thresholds = gc.get_threshold()
    tune_gc()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for body in bodies:
        steps = steps_for(body, knowledge, settings)
        results[body.name] = {name: timed(step, iterations, max_seconds) for name, step in steps.items()}
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    return results
