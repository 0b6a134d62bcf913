"""Probes: ``/healthz`` (liveness: the process serves HTTP) and ``/readyz`` (can it answer hooks?).

Readiness checks what a request needs and a restart would not fix by itself: the database answers and
the knowledge is loaded. A 503 takes the replica out of the load balancer without restarting it.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from service.api.deps import State
from service.api.responses import JSONResponse, outcome_response
from service.operation_outcome import operation_outcome
from service.storage.db import ping, run_bounded

router = APIRouter()
log = structlog.get_logger("service.health")


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(state: State) -> JSONResponse:
    if state.engine is None:
        return outcome_response(503, operation_outcome("exception", "no database configured"))
    try:
        await run_bounded(state.settings.readyz_timeout_seconds, ping, state.engine)
    except Exception as exc:  # DatabaseUnavailable (timeout, connection) or anything else: not ready
        log.warning("readyz.database", error_type=type(exc).__name__)
        return outcome_response(503, operation_outcome("transient", "database unavailable"))
    if not state.knowledge.service.id:
        return outcome_response(503, operation_outcome("exception", "knowledge not loaded"))
    return JSONResponse({"status": "ready", "service": state.knowledge.service.id})
