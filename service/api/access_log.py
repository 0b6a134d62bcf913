"""One structured log line per request: identifiers and numbers only, never patient content."""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("service.access")


class AccessLogMiddleware:
    """Logs method, path, status, latency and what the endpoint put in ``request.state``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            state = scope.get("state") or {}
            log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                service=state.get("service_id"),
                hook_instance=state.get("hook_instance"),
                tier=state.get("tier"),
                cards=state.get("cards"),
            )
