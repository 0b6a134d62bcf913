"""``GET /metrics``: the Prometheus text format (not a CDS Hooks endpoint, so no JWT and no schema)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.metrics import exposition

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    # Off the event loop: in multi-process mode it reads every worker's file.
    body, content_type = await run_in_threadpool(exposition)
    return Response(body, media_type=content_type)
