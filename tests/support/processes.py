"""Runs the service as real OS processes (``python -m service serve``) for multi-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from service.fhir.transport import default_ssl_context

REPO = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hook runs, as in an OOM kill or node loss."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until_up(self.process, self.base_url, self.log, timeout)


def wait_until_up(
    process: subprocess.Popen[Any], base_url: str, log: Path, timeout: float, path: str = "/readyz"
) -> None:
    """Poll ``path`` until 200; fail with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"service exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(base_url + path, timeout=2.0, verify=default_ssl_context()).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} not 200 after {timeout}s:\n{log.read_text()[-4000:]}")


def start(database_url: str, log_dir: Path, *, workers: int = 1, env: dict[str, Any] | None = None) -> ServiceProcess:
    """Start one service process (not waiting for it: start several, then wait, to race their start-ups)."""
    port = free_port()
    log = log_dir / f"service-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment.update({"BACKPAIN_CDS_DATABASE_URL": database_url, "BACKPAIN_CDS_LOG_LEVEL": "WARNING"})
    environment.update({k: str(v) for k, v in (env or {}).items()})
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return ServiceProcess(process, f"http://127.0.0.1:{port}", log)


def stop(service: ServiceProcess) -> None:
    if service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGTERM)
        try:
            service.process.wait(15)
        except subprocess.TimeoutExpired:
            service.kill()


@contextmanager
def running(database_url: str, log_dir: Path, count: int = 2, **kwargs: Any) -> Iterator[list[ServiceProcess]]:
    """``count`` processes on one database, started at the same moment, stopped at the end."""
    with ExitStack() as stack:
        services = []
        for _ in range(count):
            service = start(database_url, log_dir, **kwargs)
            stack.callback(stop, service)
            services.append(service)
        for service in services:
            service.wait_ready()
        yield services
