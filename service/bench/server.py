"""Starts one uvicorn server pinned to a CPU, waits until it answers, and always stops it.

Run as a module it serves an app factory with the settings of ``backpain-cds serve``::

    python -m service.bench.server service.bench.floor:create_app 8081
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def die_with_parent() -> None:
    """In the child before exec: the kernel kills it if the benchmark dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv


@dataclass(frozen=True)
class Server:
    pid: int
    url: str


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    # Imported here, in the benchmark's process: the served floor runs this module too, and httpx and the
    # FHIR transport would otherwise sit in the floor's memory, which the service's memory is compared with.
    import httpx

    from service.fhir.transport import default_ssl_context

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering")
        try:
            httpx.get(f"{url}/healthz", timeout=1.0, verify=default_ssl_context())
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {START_TIMEOUT_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(app: str, *, cpu: int | None, env: dict[str, str], log: IO[bytes],
            wrapper: list[str] | None = None) -> Iterator[Server]:
    """Serve ``app`` (a factory path) on a free loopback port; stopped on exit, error or Ctrl-C."""
    port = free_port()
    argv = [*(wrapper or [sys.executable]), "-m", "service.bench.server", app, str(port)]
    process = subprocess.Popen(pinned(cpu, argv), env={**os.environ, **env}, stdout=log, stderr=log,
                               cwd=Path(__file__).resolve().parents[2], preexec_fn=die_with_parent)
    try:
        url = f"http://{HOST}:{port}"
        _wait_ready(process, url)
        yield Server(process.pid, url)
    finally:
        stop(process)


def main(argv: list[str]) -> int:
    from service.commands.serve import SERVICE_APP, migrate_in_child, run_app

    app, port = argv
    if app == SERVICE_APP:  # as ``backpain-cds serve`` starts it, so its memory is what a deployment gets
        from service.settings import get_settings

        migrate_in_child(get_settings().database_url)
    run_app(app, HOST, int(port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
