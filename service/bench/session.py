"""One benchmark session: load passes, then the micro-benchmark, then the tables and the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from service.bench.bodies import large_body, medium_body, small_body, typical_body
from service.bench.checks import annotate
from service.bench.micro import run_micro
from service.bench.micro_auth import run_auth_micro
from service.bench.notes import notes_body
from service.bench.profiling import summary
from service.bench.report import print_tables, write
from service.bench.runner import BenchOptions, run_benchmark
from service.knowledge import load_knowledge
from service.paths import knowledge_dir
from service.settings import Settings


def micro(options: BenchOptions) -> dict[str, Any]:
    knowledge = load_knowledge(knowledge_dir())
    settings = Settings(_env_file=None)
    spec = knowledge.service
    bodies = [small_body(spec), typical_body(spec), notes_body(spec), medium_body(spec), large_body(spec)]
    results: dict[str, Any] = run_micro(bodies, knowledge, settings, iterations=options.micro_iterations)
    results["auth"] = run_auth_micro(min(options.micro_iterations, 1000))
    return results


def run_session(options: BenchOptions, path: Path) -> int:
    """Runs everything, prints the tables, writes ``path`` (JSON) and its ``.md``; 130 on Ctrl-C."""
    console = Console(stderr=True)
    try:
        results = run_benchmark(options, progress=lambda text: console.log(text))
        console.log("micro-benchmark")
        results["micro"] = micro(options)
    except KeyboardInterrupt:
        console.print("[red]interrupted: every server and wrk were stopped[/red]")
        return 130
    annotate(results)
    print_tables(results, Console())
    written = write(results, path)
    console.print(f"results: {written} and {written.with_suffix('.md')}")
    if options.profile_dir is not None:
        text = summary(options.profile_dir)
        (options.profile_dir / "summary.txt").write_text(text + "\n")
        console.print(f"profiles: {options.profile_dir}/*.prof, summary in {options.profile_dir / 'summary.txt'}")
    return 0
