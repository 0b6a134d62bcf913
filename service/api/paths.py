"""One canonical path for the CDS Hooks endpoints, whatever slashes the client put in.

A discovery URL typed with a trailing slash (``…/cds-services/``) makes the CDS Hooks sandbox call
``…/cds-services//<id>``. Both reach the same endpoint here. The path as called is kept for the JWT
``aud`` check, because the client signs exactly the URL it called.
"""

from __future__ import annotations

import re

from starlette.types import Scope

PREFIX = "/cds-services"
CALLED_PATH = "backpain.called_path"
_SLASHES = re.compile(r"/{2,}")


def canonical(path: str) -> str:
    """``/cds-services//x/`` -> ``/cds-services/x``; other paths unchanged."""
    if "//" not in path and (len(path) < 2 or path[-1] != "/"):
        return path  # nothing to collapse or strip: the common case, without the regex
    collapsed = _SLASHES.sub("/", path)
    if not (collapsed == PREFIX or collapsed.startswith(PREFIX + "/")):
        return path
    return collapsed.rstrip("/") or "/"


def called_path(scope: Scope) -> str:
    """The path exactly as the client sent it (before :func:`canonical_scope` rewrote it)."""
    return str(scope.get(CALLED_PATH) or scope["path"])


def canonical_scope(scope: Scope) -> Scope:
    """``scope`` routed on the canonical path, remembering the one the client called; the same dict if equal."""
    path = scope["path"]
    normal = canonical(path)
    if normal == path:
        return scope
    return {**scope, "path": normal, "raw_path": normal.encode(), CALLED_PATH: path}
