"""CORS for browser clients such as the CDS Hooks sandbox (spec L1-L3), as the edge layer applies it.

The same answers as Starlette's ``CORSMiddleware`` configured with this service's policy (origins, GET/POST/
OPTIONS, ``Authorization`` and ``Content-Type``, max-age 600, no credentials): preflight answered here with
200 ``OK`` or 400 ``Disallowed CORS …``; every other response gets ``Access-Control-Allow-Origin`` when the
origin is allowed and ``Vary: Origin``. Only the work per request is less: headers pre-encoded, no header
objects built.
"""

from __future__ import annotations

from collections.abc import Collection, MutableSequence, Sequence

from starlette.responses import PlainTextResponse, Response

# The CORS-safelisted request headers, always allowed (Starlette adds them the same way).
SAFELISTED_HEADERS = frozenset({"Accept", "Accept-Language", "Content-Language", "Content-Type"})
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)
RawHeaders = MutableSequence[tuple[bytes, bytes]]


class CorsPolicy:
    """Which origins may call, with which methods and headers; answers preflights and marks responses."""

    def __init__(self, origins: Collection[str], methods: Sequence[str], headers: Collection[str], max_age: int):
        self.allow_all = "*" in origins
        self.origins = frozenset(origins)
        self.methods = tuple(methods)
        allowed = sorted(SAFELISTED_HEADERS | set(headers))
        self.allowed_headers = frozenset(h.lower() for h in allowed)
        preflight = {"Vary": PREFLIGHT_VARY}
        if self.allow_all:
            preflight["Access-Control-Allow-Origin"] = "*"
        preflight["Access-Control-Allow-Methods"] = ", ".join(self.methods)
        preflight["Access-Control-Max-Age"] = str(max_age)
        preflight["Access-Control-Allow-Headers"] = ", ".join(allowed)
        self.preflight_headers = preflight

    def allows(self, origin: str) -> bool:
        return self.allow_all or origin in self.origins

    def preflight(self, origin: str, method: str, requested_headers: str | None, private_network: bool) -> Response:
        """The answer to an ``OPTIONS`` request carrying ``Origin`` and ``Access-Control-Request-Method``."""
        headers = dict(self.preflight_headers)
        failures: list[str] = []
        if self.allows(origin):
            if not self.allow_all:
                headers["Access-Control-Allow-Origin"] = origin
        else:
            failures.append("origin")
        if method not in self.methods:
            failures.append("method")
        if requested_headers is not None and any(
            h.strip() not in self.allowed_headers for h in requested_headers.lower().split(",")
        ):
            failures.append("headers")
        if private_network:
            failures.append("private-network")
        if failures:
            return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers)
        return PlainTextResponse("OK", status_code=200, headers=headers)

    def mark(self, headers: RawHeaders, origin: bytes | None) -> None:
        """Add the CORS headers of a simple (non-preflight) response to its raw ``headers``, in place."""
        allow = origin is not None and (self.allow_all or self.allows(origin.decode("latin-1")))
        value = b"*" if self.allow_all else origin or b""
        if not any(key in _MARKED for key, _ in headers):  # the usual case: nothing to merge or replace
            if allow:
                headers.append((_ALLOW_ORIGIN, value))
            headers.append((b"vary", b"Origin"))
            return
        if allow:
            _set(headers, _ALLOW_ORIGIN, value)
        vary = [value for key, value in headers if key == b"vary"]
        _set(headers, b"vary", b", ".join([*vary, b"Origin"]))


_ALLOW_ORIGIN = b"access-control-allow-origin"
_MARKED = frozenset({_ALLOW_ORIGIN, b"vary"})


def _set(headers: RawHeaders, key: bytes, value: bytes) -> None:
    """Replace every ``key`` header by one with ``value`` where the first was, else append it."""
    found = [i for i, (name, _) in enumerate(headers) if name == key]
    for i in reversed(found[1:]):
        del headers[i]
    if found:
        headers[found[0]] = (key, value)
    else:
        headers.append((key, value))
