"""CPU of bytes -> PatientFacts (parse_body, gather on the prefetch, build_facts) per body, fast vs reference.

Issue 17: the one-pass msgspec decoding (``parse_body(fast=True)``) against the orjson + pydantic reference
path (``fast=False``), each also as a ratio to ``orjson.loads`` alone on the same bytes, in the same run.
In-process, process CPU time, the minimum of ``--repeat`` rounds (the machine is shared: take the floor).

    .venv/bin/python scripts/bench_decode.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import logging
import time
from collections.abc import Callable

import orjson
import structlog

from service.api.parsing import parse_body
from service.bench.bodies import hook_request, large_body, typical_body
from service.bench.micro import run_now
from service.cdshooks.models import HookRequest
from service.clock import system_clock
from service.facts import PatientFacts, build_facts
from service.fixtures_catalog import list_cases
from service.gather import gather
from service.knowledge import load_knowledge
from service.settings import REPO_ROOT, Settings

SMALL_CASE = "F8--in--epic-medication-references-and-outcome-entries"  # ~6 kB, a C3R card


def cpu_us(step: Callable[[], object], calls: int, repeat: int) -> float:
    rounds = []
    for _ in range(repeat):
        started = time.process_time_ns()
        for _ in range(calls):
            step()
        rounds.append((time.process_time_ns() - started) / calls / 1000)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    logging.disable(logging.WARNING)
    knowledge = load_knowledge(REPO_ROOT / "cards")
    spec, settings, now = knowledge.service, Settings(), system_clock()
    types = {key: item.resource_type for key, item in spec.prefetch.items()}
    case = next(c for c in list_cases() if c.name == SMALL_CASE)
    bodies = {
        "small": orjson.dumps(hook_request(case.patient_id, case.prefetch(spec))),
        "typical": typical_body(spec).payload,
        "large": large_body(spec).payload,
    }
    gc.freeze()
    for name, body in bodies.items():
        calls = max(5, 2_000_000 // len(body))

        def facts(fast: bool, body: bytes = body) -> PatientFacts:
            request = parse_body(body, HookRequest, fast=fast)
            record = run_now(gather(request, spec, settings, None))
            return build_facts(record, types, now, knowledge.relevance.keep)

        assert facts(True) == facts(False), name
        floor = cpu_us(lambda body=body: orjson.loads(body), calls, args.repeat)  # type: ignore[misc]
        reference = cpu_us(lambda: facts(False), calls, args.repeat)
        fast = cpu_us(lambda: facts(True), calls, args.repeat)
        print(f"{name:8} {len(body):>8} B  orjson.loads {floor:8.1f} µs | reference {reference:8.1f} µs "
              f"({reference / floor:5.2f}x) | fast {fast:8.1f} µs ({fast / floor:5.2f}x orjson, "
              f"{fast / reference:4.2f}x reference)")


if __name__ == "__main__":
    main()
