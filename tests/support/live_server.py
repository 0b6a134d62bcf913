"""Runs the real service (``python -m service serve``) in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import wait_until_up

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_service(tmp_path: Path, env: dict[str, str] | None = None, workers: int = 1) -> Iterator[str]:
    """Yield the base URL of a running service; the process is stopped on exit."""
    port = free_port()
    full_env = {
        **os.environ,
        "BACKPAIN_CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "BACKPAIN_CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    # Log lines go to stderr: into a file, since an unread pipe would block the server once full.
    log_path = tmp_path / f"live-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=REPO_ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, log_path, 30, path="/healthz")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
