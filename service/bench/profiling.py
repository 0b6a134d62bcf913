"""Summaries of the cProfile statistics that ``bench --profile DIR`` writes for each server run.

A server runs under ``python -m cProfile -o DIR/<workload>-<target>-pass<n>.prof``; uvicorn's graceful
shutdown on SIGINT lets cProfile write the file. The summary lists the functions with the most own time,
leaving out the event loop's idle wait, as a share of the profiled busy time.
"""

from __future__ import annotations

import io
import pstats
from pathlib import Path

IDLE = ("select.epoll", "poll' of 'select", "{method 'control' of 'select.kqueue", "run_forever")
TOP = 25


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    short = "/".join(Path(filename).parts[-3:]) if filename != "~" else ""
    return f"{short}:{line}({name})" if short else name


def top_functions(path: Path, top: int = TOP) -> list[tuple[str, float, int, float]]:
    """(function, share of busy own time, calls, cumulative seconds), most own time first."""
    stats = pstats.Stats(str(path), stream=io.StringIO())
    rows = [(func, tt, nc, ct) for func, (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
            if not any(mark in _label(func) for mark in IDLE)]
    busy = sum(tt for _f, tt, _n, _c in rows) or 1.0
    rows.sort(key=lambda row: row[1], reverse=True)
    return [(_label(func), tt / busy, nc, ct) for func, tt, nc, ct in rows[:top]]


def summary(directory: Path, top: int = TOP) -> str:
    """Plain-text top list for every ``.prof`` file in ``directory``."""
    parts: list[str] = []
    for path in sorted(directory.glob("*.prof")):
        parts.append(f"== {path.name}: own time, event-loop idle excluded")
        parts += [f"{share:6.1%} {calls:9d} calls  cum {cum:8.3f}s  {name}"
                  for name, share, calls, cum in top_functions(path, top)]
    return "\n".join(parts)
