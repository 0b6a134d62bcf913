"""uvicorn's httptools protocol with the two limits uvicorn lacks: header size and header-read time.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``), concurrency (``limit_concurrency``)
and the accept queue (``backlog``), but with httptools it puts no limit on the size of the request line
and headers (a 64 MiB header is parsed, quadratically, while every other request waits) and no time
limit on receiving them (a client dripping one byte a second holds its connection for ever). gunicorn's
``--limit-request-*`` and ``--timeout`` do not help: under uvicorn workers uvicorn parses HTTP itself.

This subclass counts the bytes received before a request's headers are complete and answers 431 past
``http_max_header_bytes``; and from a connection's first byte (or from its opening) to the end of the
headers it allows ``http_header_timeout_seconds``, then answers 408 and closes. Everything else is
uvicorn's own code path, so its speed is kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.settings import get_settings

_CLOSE = b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"


def _response(status: bytes, text: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + _CLOSE + b"content-length: %d\r\n\r\n" % len(text) + text


TOO_LARGE = _response(b"431 Request Header Fields Too Large", b"Request header fields too large")
TIMED_OUT = _response(b"408 Request Timeout", b"Request headers not received in time")


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus a header byte limit and a header-read deadline (see module docstring)."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        settings = get_settings()  # uvicorn imports this class by name in each worker process
        self.max_header_bytes = settings.http_max_header_bytes
        self.header_timeout = settings.http_header_timeout_seconds
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_headers:
            super().data_received(data)
            return
        if self._header_timer is None:
            self._arm_header_timer()  # first byte of a request on a kept-alive connection
        room = self.max_header_bytes - self._header_bytes
        # Usually the whole request fits: no copies. Otherwise feed one byte past the limit, then decide.
        head, rest = (data, b"") if len(data) <= room else (data[: room + 1], data[room + 1 :])
        self._header_bytes += len(head)
        super().data_received(head)
        if self.transport.is_closing():
            return
        if self._awaiting_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(TOO_LARGE)
            return
        if rest:
            self.data_received(rest)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True  # the next bytes on this connection start a new request

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            busy = self.cycle is not None and not self.cycle.response_complete
            if busy:  # still answering the previous request: do not cut its response short
                self._arm_header_timer()
                return
            self._refuse(TIMED_OUT)

    def _refuse(self, response: bytes) -> None:
        self._cancel_header_timer()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(response)
        self.transport.close()
