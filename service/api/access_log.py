"""One structured log line and one metrics observation per request: identifiers and numbers only."""

from __future__ import annotations

from starlette.types import Scope

from service.logging import log_access
from service.metrics import observe_request


def record_request(scope: Scope, status: int, seconds: float) -> None:
    """Log method, path, status, latency and what the endpoint put in ``request.state``; count the request.

    ``scope`` is the one the routes saw: the router stored the matched route in it and the endpoint its
    state (service id, hook instance, tier, card count and how much evidence only the keyword fallback
    found; never patient data).
    """
    state = scope.get("state") or {}
    route = scope.get("route")
    # The route template bounds the label set; a path that matched no route is one label.
    endpoint = getattr(route, "path", None) or "unmatched"
    tier = state.get("tier")
    cards = state.get("cards")
    observe_request(endpoint, status, seconds, tier, cards)
    log_access({
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "latency_ms": round(seconds * 1000, 2),
        "service": state.get("service_id"),
        "hook_instance": state.get("hook_instance"),
        "tier": tier,
        "cards": cards,
        "keyword_hits": state.get("keyword_hits"),
    })
