"""Drives a server with wrk (the Debian package) and a Lua script that POSTs one body file.

The script prints one ``BENCH-RESULT`` line of JSON from wrk's ``done`` hook: request and error counts,
duration, and latency percentiles in microseconds. Given a token file it sends each token once, as
``Authorization: Bearer`` (the production-profile workload, :mod:`service.bench.production`).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from service.bench.server import pinned

MARKER = "BENCH-RESULT "
LUA = r"""
local request_bytes, body, path
local tokens, index = {}, 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
  path = args[2]
  if args[3] then  -- a token file: each request carries the next token once (the production profile)
    for line in io.lines(args[3]) do
      if #line > 0 then tokens[#tokens + 1] = line end
    end
  end
  request_bytes = wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function request()
  if #tokens == 0 then
    return request_bytes
  end
  index = index % #tokens + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer " .. tokens[index]}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    wrk_cpu_seconds: float
    wall_seconds: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise FileNotFoundError("wrk is not installed (Debian: apt-get install -y wrk)")
    return found


def write_script(directory: Path) -> Path:
    path = directory / "post.lua"
    path.write_text(LUA)
    return path


def parse(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith(MARKER):
            values: dict[str, float] = json.loads(line[len(MARKER):])
            return values
    raise RuntimeError(f"wrk printed no result line: {output[-500:]!r}")


def run_wrk(url: str, path: str, body_file: Path, script: Path, *, connections: int, seconds: float,
            cpu: int | None, tokens: Path | None = None) -> WrkResult:
    """One wrk run of ``seconds`` on one thread; its CPU time comes from the children's rusage."""
    argv = [wrk_binary(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(script), url + path, "--", str(body_file), path, *([str(tokens)] if tokens else [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(pinned(cpu, argv), capture_output=True, text=True, timeout=seconds + 30, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-500:]}")
    v = parse(done.stdout)
    errors = int(v["connect_errors"] + v["read_errors"] + v["write_errors"] + v["status_errors"] + v["timeouts"])
    cpu_used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return WrkResult(int(v["requests"]), v["duration_us"] / 1e6, errors, v["p50_us"] / 1000, v["p90_us"] / 1000,
                     v["p99_us"] / 1000, v["max_us"] / 1000, cpu_used, wall)
