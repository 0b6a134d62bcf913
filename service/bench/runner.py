"""Runs the benchmark: for each pass and workload, the floor and then the service, same body, same flags.

Each server is a fresh process (so its peak memory belongs to one workload), pinned to CPU 0; wrk is
pinned to CPU 1. Every process started here is stopped on the way out, including on Ctrl-C. The floor
runs with the service's garbage-collector tuning (``tune_gc``) unless ``--floor-gc default`` asks
otherwise, so a ratio to it measures the service's own work. The ``production`` workloads are the small
body with the production profile: a fresh JWT per request (ES384, or RS384 in ``production-rs384``) and
the replay cache on SQLite.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from service.bench import nofetch
from service.bench.bodies import Body, large_body, medium_body, small_body, typical_body
from service.bench.measure import SERVER_CPU, TargetRun, measure_target
from service.bench.notes import notes_body
from service.bench.production import ALGORITHM_OF, BenchIssuer
from service.bench.server import running
from service.bench.wrk import write_script
from service.knowledge import load_knowledge
from service.paths import knowledge_dir
from service.settings import REPO_ROOT

TARGETS = {"floor": "service.bench.floor:create_app", "service": "service.main:create_app"}
WORKLOADS = ("small", "typical", "notes", "medium", "large", "production", "production-rs384", "no-prefetch")
BODY_OF = {name: "small" for name in ALGORITHM_OF}  # the workloads whose body is another workload's


@dataclass
class BenchOptions:
    duration: float = 8.0
    warmup: float = 3.0
    connections: list[int] = field(default_factory=lambda: [1, 8, 64])
    passes: int = 2
    workloads: list[str] = field(default_factory=lambda: list(WORKLOADS))
    noise_threshold_pct: float = 10.0
    profile_dir: Path | None = None
    micro_iterations: int = 2000
    floor_gc: str = "tuned"


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or "unknown"


def machine_info() -> dict[str, Any]:
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    return {"host": platform.node(), "cpu": cpu_model, "cpus": os.cpu_count() or 1,
            "python": sys.version.split()[0], "kernel": platform.release(), "commit": _git_commit()}


def _wrapper(options: BenchOptions, label: str) -> list[str] | None:
    if options.profile_dir is None:
        return None
    options.profile_dir.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "cProfile", "-o", str(options.profile_dir / f"{label}.prof")]


def run_target(target: str, body: Body, workdir: Path, options: BenchOptions, label: str,
               issuer: BenchIssuer | None = None, warmup_connections: int | None = None) -> TargetRun:
    """One server through every level. ``issuer``: the service runs the production profile trusting it,
    and every request (to the floor too, so wrk's work is the same) carries a fresh token."""
    body_file = workdir / f"{body.name}.json"
    body_file.write_bytes(body.payload)
    env = {"BACKPAIN_CDS_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "BACKPAIN_CDS_BENCH_FLOOR_GC": options.floor_gc,
           **(issuer.env() if issuer is not None and target == "service" else {})}
    wrapper = _wrapper(options, label)
    with (workdir / f"{label}.log").open("wb") as log, \
            running(TARGETS[target], cpu=SERVER_CPU, env=env, log=log, wrapper=wrapper) as server:
        return measure_target(target, server, body_file, write_script(workdir), connections=options.connections,
                              seconds=options.duration, warmup=options.warmup,
                              noise_threshold_pct=options.noise_threshold_pct, issuer=issuer,
                              warmup_connections=warmup_connections)


def bodies_for(workloads: list[str]) -> dict[str, Body]:
    """The bodies the workloads need, built once per run."""
    spec = load_knowledge(knowledge_dir()).service
    makers = {"small": small_body, "typical": typical_body, "notes": notes_body, "medium": medium_body,
              "large": large_body}
    names = {BODY_OF.get(name, name) for name in workloads} | ({"typical"} if "no-prefetch" in workloads else set())
    return {name: make(spec) for name, make in makers.items() if name in names}


def run_benchmark(options: BenchOptions, progress: Any = print) -> dict[str, Any]:
    """Every pass of every workload; returns the raw results (ratios and checks come from ``report``)."""
    spec = load_knowledge(knowledge_dir()).service
    bodies = bodies_for(options.workloads)
    issuers = {name: BenchIssuer(ALGORITHM_OF[name]) for name in options.workloads if name in ALGORITHM_OF}
    started = time.time()
    passes: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="backpain-bench-") as tmp:
        workdir = Path(tmp)
        for number in range(1, options.passes + 1):
            workloads: dict[str, Any] = {}
            for name in options.workloads:
                progress(f"pass {number}: {name}")
                if name == "no-prefetch":
                    workloads[name] = nofetch.run(bodies["typical"], spec, workdir, options)
                    continue
                body = bodies[BODY_OF.get(name, name)]
                workloads[name] = {target: asdict(run_target(target, body, workdir, options,
                                                             f"{name}-{target}-pass{number}",
                                                             issuers.get(name)))
                                   for target in TARGETS}
            passes.append({"pass": number, "workloads": workloads})
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(time.time() - started, 1), "machine": machine_info(),
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
            "bodies": {name: body.describe() for name, body in bodies.items()}, "passes": passes}
