"""``backpain-cds bench``: the load benchmark against the framework floor, and the micro-benchmark.

Loopback only, bounded in time (about five minutes with the defaults), every process it starts is
stopped on the way out. Results go to ``bench-results/`` as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType

# as bench.runner
WORKLOADS = ("small", "typical", "notes", "medium", "large", "production", "production-rs384", "no-prefetch")


def _int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1 or max(values) > 1024:
        raise argparse.ArgumentTypeError("give connection counts between 1 and 1024, e.g. 1,8,64")
    return values


def _workloads(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"workloads are {', '.join(WORKLOADS)}")
    return names


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="benchmark the service against a minimal FastAPI floor")
    parser.add_argument("--duration", type=float, help="seconds per concurrency level (default 8)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per server (default 3)")
    parser.add_argument("--connections", type=_int_list, help="concurrency levels (default 1,8,64)")
    parser.add_argument("--passes", type=int, help="passes over every workload (default 2)")
    parser.add_argument("--workload", type=_workloads, default=list(WORKLOADS),
                        help="comma-separated: " + ",".join(WORKLOADS) + " (default all)")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 1 s steps, c=1, one pass")
    parser.add_argument("--json", type=Path, help="results file (default bench-results/bench-<time>.json)")
    parser.add_argument("--noise-threshold", type=float, default=10.0,
                        help="mark a level noisy when others use more than this %% of a pinned CPU")
    parser.add_argument("--micro-iterations", type=int, help="iterations per micro-benchmark step (default 2000)")
    parser.add_argument("--floor-gc", choices=("default", "tuned"), default="tuned",
                        help="the floor's GC: the service's tune_gc (default: the ratio measures the service's "
                             "own work) or Python's default")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run the service under cProfile, stats to DIR")
    parser.set_defaults(func=run)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from service.bench.runner import BenchOptions
    from service.bench.session import run_session

    tiny = bool(args.tiny)
    options = BenchOptions(
        duration=args.duration if args.duration is not None else (1.0 if tiny else 8.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if tiny else 3.0),
        connections=args.connections or ([1] if tiny else [1, 8, 64]),
        passes=max(1, args.passes if args.passes is not None else (1 if tiny else 2)),
        workloads=args.workload,
        noise_threshold_pct=args.noise_threshold,
        profile_dir=args.profile,
        micro_iterations=args.micro_iterations or (50 if tiny else 2000),
        floor_gc=args.floor_gc,
    )
    path = args.json or Path("bench-results") / time.strftime("bench-%Y%m%d-%H%M%S.json")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run_session(options, path)
