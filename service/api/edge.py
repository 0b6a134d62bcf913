"""The one ASGI layer in front of FastAPI's routing: path, CORS, limits, error shield and access log.

What it does to each HTTP request, in this order (the order of the separate middlewares it replaces):

1. routes ``/cds-services//x/`` as ``/cds-services/x`` and keeps the path as called (``service.api.paths``);
2. answers a CORS preflight itself (``service.api.cors``); such a request is not logged or counted;
3. starts the clock of the access log, which is written whatever happens next (``service.api.access_log``);
4. refuses a body that is not JSON (415), too large (413) or too slow (408) before any route runs
   (``service.security.limits``);
5. calls the app; an exception that escaped FastAPI's handlers becomes a 500 OperationOutcome when no
   response has started (never a traceback or the request's content);
6. marks every response, errors and refusals included, with the CORS headers, so a browser client
   (the CDS Hooks sandbox) sees the status instead of an opaque network error.

One layer instead of five: one function call, one ``send`` wrapper and one pass over the headers per
request instead of one per concern.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.access_log import record_request
from service.api.cors import CorsPolicy
from service.api.paths import canonical_scope
from service.api.responses import JSONResponse
from service.operation_outcome import operation_outcome
from service.security.limits import BodyLimit
from service.settings import Settings

log = structlog.get_logger("service.errors")

CORS_METHODS: Sequence[str] = ("GET", "POST", "OPTIONS")
CORS_HEADERS: Sequence[str] = ("Authorization", "Content-Type")
CORS_MAX_AGE = 600


class EdgeLayer:
    """Everything the service does to a request before and after FastAPI routes it (see the module doc)."""

    def __init__(self, app: ASGIApp, cors: CorsPolicy, limit: BodyLimit) -> None:
        self.app = app
        self.cors = cors
        self.limit = limit

    @classmethod
    def for_settings(cls, app: ASGIApp, settings: Settings) -> EdgeLayer:
        """Production allows the configured origins only; development any origin."""
        origins = settings.cors_origins if settings.is_production else ["*"]
        return cls(
            app,
            CorsPolicy(origins, CORS_METHODS, CORS_HEADERS, CORS_MAX_AGE),
            BodyLimit(settings.max_body_bytes, settings.http_body_timeout_seconds),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = canonical_scope(scope)
        # One pass over the headers. CORS reads the first Origin as sent (as Starlette does); the body
        # limit the last Content-Type / Content-Length, names lower-cased.
        origin: bytes | None = None
        preflight = False
        content_type = b""
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                if origin is None:
                    origin = value
                continue
            if name == b"access-control-request-method":
                preflight = True
                continue
            lower = name.lower()
            if lower == b"content-type":
                content_type = value
            elif lower == b"content-length":
                declared = value
        if preflight and origin is not None and scope["method"] == "OPTIONS":
            await self._preflight(scope, receive, send, origin)
            return

        status = 500  # logged when no response was started at all (the client went away)
        started = False
        cors = self.cors

        async def edge_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", ()))
                cors.mark(headers, origin)
                message["headers"] = headers
            await send(message)

        begun = time.perf_counter()
        try:
            replay = await self.limit.admit(scope["method"], content_type, declared, receive, edge_send)
            if replay is None:
                return
            try:
                await self.app(scope, replay, edge_send)
            except Exception as exc:
                log.error("request.unhandled", error_type=type(exc).__name__, path=scope.get("path"))
                if started:
                    raise
                response = JSONResponse(operation_outcome("exception", "internal error"), status_code=500)
                await response(scope, replay, edge_send)
        finally:
            record_request(scope, status, time.perf_counter() - begun)

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, origin: bytes) -> None:
        first: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            first.setdefault(name, value.decode("latin-1"))
        response = self.cors.preflight(
            origin.decode("latin-1"),
            first[b"access-control-request-method"],
            first.get(b"access-control-request-headers"),
            b"access-control-request-private-network" in first,
        )
        await response(scope, receive, send)
