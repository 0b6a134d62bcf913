"""A real FHIR server for integration tests: Medplum's in-memory router behind ``tests/fhir_server``.

The session fixtures start one open server and one that demands a bearer token, both with a page
size small enough that every multi-resource search is paged. Tests use their own patient ids, so
they never need to reset the (shared, in-memory) store.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.fhir.client import FhirServer
from service.fhir.transport import default_ssl_context
from service.fhir.upload import put_resources

SERVER_DIR = Path(__file__).resolve().parent.parent / "fhir_server"
TEST_TOKEN = "medplum-test-token-4f1c2a"
PAGE_SIZE = 2
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunningFhirServer:
    base_url: str
    token: str | None
    page_size: int

    @property
    def origin(self) -> str:
        return self.base_url.rsplit("/fhir", 1)[0]

    def as_server(self) -> FhirServer:
        return FhirServer(self.base_url, self.token)

    def request_log(self) -> list[dict[str, Any]]:
        """Every request the server received since the last :meth:`clear_log`."""
        log: list[dict[str, Any]] = httpx.get(f"{self.origin}/__log", verify=default_ssl_context()).json()
        return log

    def clear_log(self) -> None:
        httpx.delete(f"{self.origin}/__log", verify=default_ssl_context()).raise_for_status()

    async def load(self, resources: Iterable[dict[str, Any]]) -> int:
        """PUT ``resources`` under their ids, the way ``backpain-cds load-fixtures`` does."""
        async with httpx.AsyncClient(verify=default_ssl_context()) as http:
            return await put_resources(http, self.as_server(), resources)


NODE_PACKAGES = ("@medplum/fhir-router", "markdown-it")


def ensure_node_modules() -> Path:
    """``tests/fhir_server/node_modules``, installed from its lock file if a package is missing."""
    modules = SERVER_DIR / "node_modules"
    if all((modules / name).is_dir() for name in NODE_PACKAGES):
        return modules
    npm = shutil.which("npm")
    assert npm, "npm is needed to install the Medplum test server"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SERVER_DIR, check=True, timeout=300)
    return modules


def _wait_ready(process: subprocess.Popen[str], token: str | None) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"Medplum test server did not start (said {line!r})")
    base_url = line.split(" ", 1)[1].strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    httpx.get(f"{base_url}/metadata", headers=headers, timeout=5, verify=default_ssl_context()).raise_for_status()
    return base_url


@contextmanager
def running_fhir_server(
    *, token: str | None = None, page_size: int = PAGE_SIZE, batch: bool = True
) -> Iterator[RunningFhirServer]:
    """Start the Node wrapper on a free port, yield it once it answers, stop it afterwards.

    ``batch=False``: the server leaves ``batch`` out of its CapabilityStatement and answers batches 405.
    """
    ensure_node_modules()
    node = shutil.which("node")
    assert node, "node is needed to run the Medplum test server"
    args = [node, "--experimental-websocket", "server.mjs", "--port", "0", "--page-size", str(page_size)]
    if token:
        args += ["--token", token]
    if not batch:
        args.append("--no-batch")
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            args, cwd=SERVER_DIR, stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ)
        )
        try:
            yield RunningFhirServer(_wait_ready(process, token), token, page_size)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[RunningFhirServer]:
    """An open Medplum server (no token needed), paging every PAGE_SIZE resources."""
    with running_fhir_server() as server:
        yield server


@pytest.fixture(scope="session")
def fhir_server_with_token() -> Iterator[RunningFhirServer]:
    """A Medplum server that answers 401 unless ``Authorization: Bearer TEST_TOKEN`` is sent."""
    with running_fhir_server(token=TEST_TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def fhir_server_without_batch() -> Iterator[RunningFhirServer]:
    """A Medplum server whose CapabilityStatement does not declare ``batch`` and that answers batches 405."""
    with running_fhir_server(batch=False) as server:
        yield server
