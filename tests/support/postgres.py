"""A throw-away PostgreSQL server for the session: initdb in /tmp, loopback only, stopped at the end.

The server binaries come from the Debian ``postgresql`` package (``scripts/test`` installs it). As root
the cluster is owned by, and run as, the ``postgres`` OS user, which the server insists on.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: run scripts/test (installs `postgresql`)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass(frozen=True)
class PostgresServer:
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database (one per test keeps tests independent); returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    base = Path(tempfile.mkdtemp(prefix="backpain-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True,
    )
    server = PostgresServer(port=_free_port())
    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base} -c max_connections=200"
    pg_ctl = str(bin_dir / "pg_ctl")
    subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-o", options, "-w", "start"]),
        check=True, capture_output=True,
    )
    try:
        yield server
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
