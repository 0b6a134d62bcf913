"""HTTP limits of ``backpain-cds serve`` (issue 16), over real sockets against the running service.

Each test waits on the server, never on a fixed sleep: a socket read with a generous cap returns as
soon as the server answers or closes, and the cap is only there so a regression fails instead of hanging.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.live_server import live_service

CAP = 15.0  # seconds: far above every limit configured below
LIMITS = {
    "BACKPAIN_CDS_HTTP_MAX_HEADER_BYTES": "8192",
    "BACKPAIN_CDS_HTTP_HEADER_TIMEOUT_SECONDS": "1",
    "BACKPAIN_CDS_HTTP_KEEP_ALIVE_SECONDS": "1",
    "BACKPAIN_CDS_HTTP_BODY_TIMEOUT_SECONDS": "1",
    "BACKPAIN_CDS_HTTP_MAX_CONNECTIONS": "8",
    "BACKPAIN_CDS_LOG_LEVEL": "ERROR",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_service(tmp_path_factory.mktemp("limits"), env=LIMITS) as url:
        yield url


def connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=CAP)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or CAP passes: then raise)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_an_oversized_header_gets_431_and_the_connection_closes(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert httpx.get(base + "/healthz").status_code == 200


def test_a_huge_header_is_refused_without_reading_it_all(base: str) -> None:
    """64 MiB offered: the server answers 431 and closes long before we could send it all."""
    sent = 0
    with connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = read_until_closed(sock)
        except ConnectionResetError:
            answer = b"reset"
    assert sent < 64 * 1024 * 1024
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"reset"


def test_headers_within_the_limit_are_served(base: str) -> None:
    response = httpx.get(base + "/healthz", headers={"X-Token": "t" * 6000})
    assert response.status_code == 200


def test_a_slow_drip_header_connection_is_closed_with_408(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.2)
        answer = b""
        started = time.monotonic()
        while time.monotonic() - started < CAP:  # one header line every 0.2 s, never the blank line
            try:
                sock.sendall(b"X-Drip: 1\r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed(base: str) -> None:
    with connect(base) as sock:
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_an_idle_keep_alive_connection_is_closed_after_its_response(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1 ") == 1  # closed idle, not with a second (408) response


def test_a_slowly_sent_body_gets_408(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"POST /cds-services/back-pain-red-flags HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = read_until_closed(sock)
    assert b" 408 " in answer.split(b"\r\n", 1)[0]
    assert b"OperationOutcome" in answer


def test_past_the_connection_cap_requests_get_503_and_service_resumes(base: str) -> None:
    idle = [connect(base) for _ in range(8)]
    try:
        with connect(base) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in idle:
            sock.close()
    for _ in range(100):  # the server notices the closed sockets on its next loop turn
        if httpx.get(base + "/healthz").status_code == 200:
            break
    assert httpx.get(base + "/healthz").status_code == 200
