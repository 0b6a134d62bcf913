"""Prints the results as rich tables and writes them as JSON and as a Markdown table for the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from service.bench.runner import BODY_OF

COLUMNS = ("pass", "workload", "c", "target", "p50 ms", "p99 ms", "req/s", "CPU ms/req", "peak MiB",
           "×CPU", "×req/s", "×p99", "×mem", "other CPU0/CPU1 %")


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per pass, workload, concurrency and server; ratios on the service rows."""
    out: list[list[str]] = []
    for one_pass in results["passes"]:
        for name, workload in one_pass["workloads"].items():
            if name == "no-prefetch":
                out += _nofetch_rows(one_pass["pass"], workload)
                continue
            ratios = {lv["connections"]: lv for lv in workload["ratios"]["levels"]}
            for target in ("floor", "service"):
                run = workload[target]
                for lv in run["levels"]:
                    r = ratios.get(lv["connections"]) if target == "service" else None
                    out.append([str(one_pass["pass"]), name, str(lv["connections"]), target, f"{lv['p50_ms']:.2f}",
                                f"{lv['p99_ms']:.2f}", f"{lv['requests_per_second']:.0f}",
                                f"{lv['cpu_ms_per_request']:.3f}", f"{run['peak_rss_mib']:.1f}",
                                *(_x(r, k) for k in ("cpu_ms_per_request", "requests_per_second", "p99_ms")),
                                f"{workload['ratios']['peak_rss_mib']:.2f}" if r else "",
                                f"{lv['other_cpu0_pct']:.0f}/{lv['other_cpu1_pct']:.0f}"
                                + (" NOISY" if lv["noisy"] else "")])
    return out


def _x(ratio: dict[str, Any] | None, key: str) -> str:
    return f"{ratio[key]:.2f}" if ratio else ""


def _nofetch_rows(number: int, workload: dict[str, Any]) -> list[list[str]]:
    if workload.get("status") != "measured":
        return [[str(number), "no-prefetch", "", "service", "not measured", *([""] * (len(COLUMNS) - 5))]]
    run = workload["service"]
    return [[str(number), "no-prefetch", str(lv["connections"]), "service", f"{lv['p50_ms']:.2f}",
             f"{lv['p99_ms']:.2f}", f"{lv['requests_per_second']:.0f}", f"{lv['cpu_ms_per_request']:.3f}",
             f"{run['peak_rss_mib']:.1f}", "", "", "", "",
             f"{lv['other_cpu0_pct']:.0f}/{lv['other_cpu1_pct']:.0f}" + (" NOISY" if lv["noisy"] else "")]
            for lv in run["levels"]]


def notes(results: dict[str, Any]) -> list[str]:
    """Why a workload was not measured, once per reason."""
    reasons = {w["reason"] for p in results["passes"] for w in p["workloads"].values() if "reason" in w}
    return [f"Not measured: {reason}" for reason in sorted(reasons)]


def check_rows(results: dict[str, Any]) -> list[list[str]]:
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    return [[str(p["pass"]) + (" (noisy)" if p["noisy"] else ""), c["workload"], c["check"],
             "" if c["value"] is None else f"{c['value']:g}", c["limit"], verdict[c["ok"]]]
            for p in results["passes"] for c in p["checks"]]


def cpu_rows(results: dict[str, Any]) -> list[list[str]]:
    """Per pass, body and level: the floor's and the service's CPU per request and their ratio."""
    bodies = results.get("bodies", {})
    out: list[list[str]] = []
    for one_pass in results["passes"]:
        for name, workload in one_pass["workloads"].items():
            if "ratios" not in workload:
                continue
            floor = {lv["connections"]: lv for lv in workload["floor"]["levels"]}
            ratio = {lv["connections"]: lv for lv in workload["ratios"]["levels"]}
            body = bodies.get(BODY_OF.get(name, name), {})
            for lv in workload["service"]["levels"]:
                c = lv["connections"]
                if c not in floor:
                    continue
                out.append([str(one_pass["pass"]), name, f"{body.get('bytes', 0) / 1024:.1f}", str(c),
                            f"{floor[c]['cpu_ms_per_request']:.3f}", f"{lv['cpu_ms_per_request']:.3f}",
                            f"{ratio[c]['cpu_ms_per_request']:.2f}"])
    return out


def micro_rows(results: dict[str, Any]) -> list[list[str]]:
    return [[body, step, f"{t['median_us']:.1f}", f"{t['p99_us']:.1f}", str(t["iterations"])]
            for body, steps in results.get("micro", {}).items() for step, t in steps.items()]


def print_tables(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 180)
    for title, columns, body in (
        ("Load (server on CPU 0, wrk on CPU 1; × = service / floor, same pass)", COLUMNS, rows(results)),
        ("CPU per request vs the floor, same pass", ("pass", "workload", "body kB", "c", "floor CPU ms",
                                                     "service CPU ms", "×CPU"), cpu_rows(results)),
        ("Targets", ("pass", "workload", "check", "value", "target", "verdict"), check_rows(results)),
        ("Micro-benchmark (in process)", ("body", "step", "median µs", "p99 µs", "iterations"), micro_rows(results)),
    ):
        if not body:
            continue
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in body:
            table.add_row(*row)
        console.print(table)
    for line in notes(results):
        console.print(line)


def markdown(results: dict[str, Any]) -> str:
    """The load table as Markdown, headed by the machine and the run it comes from."""
    m = results["machine"]
    lines = [f"Run of {results['started']} on {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, "
             f"commit {m['commit']}; 'other CPU' is the share of each pinned CPU used by anything else.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    lines += ["", "| pass | workload | body kB | c | floor CPU ms | service CPU ms | ×CPU |", "|" + "---|" * 7]
    lines += ["| " + " | ".join(row) + " |" for row in cpu_rows(results)]
    lines += ["", "| pass | workload | check | value | target | verdict |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in check_rows(results)]
    lines += ["", *notes(results)]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], path: Path) -> Path:
    """``path`` gets the JSON, ``path`` with ``.md`` the Markdown tables; returns the JSON path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    path.with_suffix(".md").write_text(markdown(results))
    return path
