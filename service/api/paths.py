"""One canonical path for the CDS Hooks endpoints, whatever slashes the client put in.

A discovery URL typed with a trailing slash (``…/cds-services/``) makes the CDS Hooks sandbox call
``…/cds-services//<id>``. Both reach the same endpoint here. The path as called is kept for the JWT
``aud`` check, because the client signs exactly the URL it called.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/cds-services"
CALLED_PATH = "backpain.called_path"
_SLASHES = re.compile(r"/{2,}")


def canonical(path: str) -> str:
    """``/cds-services//x/`` -> ``/cds-services/x``; other paths unchanged."""
    collapsed = _SLASHES.sub("/", path)
    if not (collapsed == PREFIX or collapsed.startswith(PREFIX + "/")):
        return path
    return collapsed.rstrip("/") or "/"


def called_path(scope: Scope) -> str:
    """The path exactly as the client sent it (before :class:`CanonicalPathMiddleware`)."""
    return str(scope.get(CALLED_PATH) or scope["path"])


class CanonicalPathMiddleware:
    """Rewrites the routed path to its canonical form and remembers the one the client called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            normal = canonical(path)
            if normal != path:
                scope = {**scope, "path": normal, "raw_path": normal.encode(), CALLED_PATH: path}
        await self.app(scope, receive, send)
