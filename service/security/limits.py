"""Input limits applied before any route runs: body size (413), content type (415), JSON depth (400).

The middleware is pure ASGI so it can answer before FastAPI reads a byte, and so the body is counted
as it streams in (a missing or lying ``Content-Length`` does not get past the limit).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, ServiceError, UnsupportedMediaType
from service.operation_outcome import operation_outcome

JSON_MEDIA_TYPES = frozenset({"application/json", "application/fhir+json"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` or ``application/fhir+json``, with no charset other than UTF-8."""
    if not value:
        return False
    media_type, *params = (part.strip().lower() for part in value.split(";"))
    if media_type not in JSON_MEDIA_TYPES:
        return False
    for param in params:
        name, _, param_value = param.partition("=")
        if name.strip() == "charset" and param_value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


class _TooLarge(Exception):
    pass


class BodyLimit:
    """The body rules of every request: 415 for a POST that is not JSON, 413 past ``max_bytes``, 408 when slow.

    Shared by :class:`BodyLimitMiddleware` and the service's one ASGI layer (``service.api.edge``).
    """

    def __init__(self, max_bytes: int, read_timeout: float = 30.0) -> None:
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def admit(
        self, method: str, content_type: bytes, declared: bytes | None, receive: Receive, send: Send
    ) -> Receive | None:
        """A receive callable replaying the whole body, or None when this answered or the client went away.

        ``content_type`` and ``declared`` (``Content-Length``) are the request's raw header values.
        """
        if method in BODY_METHODS and not is_json_content_type(content_type.decode("latin-1")):
            await _reject(send, UnsupportedMediaType("the request body must be application/json"))
            return None
        if declared is not None:
            if not declared.isdigit():
                await _reject(send, InvalidRequest("invalid Content-Length"))
                return None
            if int(declared) > self.max_bytes:
                await _reject(send, self._too_large())
                return None
        try:
            async with asyncio.timeout(self.read_timeout):  # a body dripped in slowly holds a task
                body = await self._read_body(receive)
        except _TooLarge:
            await _reject(send, self._too_large())
            return None
        except TimeoutError:
            await _reject(send, RequestTimeout(f"the request body was not received within {self.read_timeout:g} s"))
            return None
        if body is None:
            return None  # the client went away before sending its body; nobody to answer
        return _replay(body, receive)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body exceeds {self.max_bytes} bytes")

    async def _read_body(self, receive: Receive) -> bytes | None:
        """Read the whole body, stopping as soon as it passes the limit; None on disconnect."""
        message = await receive()
        if message["type"] != "http.request":
            return None
        body: bytes = message.get("body", b"")
        if len(body) > self.max_bytes:
            raise _TooLarge()
        if not message.get("more_body", False):
            return body  # the usual case: the whole body in one message
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class BodyLimitMiddleware:
    """:class:`BodyLimit` as a middleware of its own (the service itself applies it in ``service.api.edge``)."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float = 30.0) -> None:
        self.app = app
        self.limit = BodyLimit(max_bytes, read_timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        replay = await self.limit.admit(
            scope["method"], headers.get(b"content-type", b""), headers.get(b"content-length"), receive, send
        )
        if replay is not None:
            await self.app(scope, replay, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the buffered body over once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _reject(send: Send, error: ServiceError) -> None:
    body = json.dumps(operation_outcome(error.code, error.message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def check_json_depth(value: Any, max_depth: int) -> None:
    """Raise InvalidRequest when arrays/objects nest deeper than ``max_depth`` (a scalar has depth 0)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            depth += 1
            if depth > max_depth:
                raise InvalidRequest(f"JSON nested deeper than {max_depth} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth) for child in children)
