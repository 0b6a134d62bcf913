"""The framework floor: the least a FastAPI service can do for the same request.

One route on the service's path: read the raw body, ``orjson.loads`` it, answer a fixed card with orjson.
No validation, no middleware, no logging, and Python's default GC settings unless
``BACKPAIN_CDS_BENCH_FLOOR_GC=tuned`` (``bench --floor-gc tuned``) gives it the service's ``tune_gc``.
Run it exactly like the service::

    uvicorn service.bench.floor:create_app --factory --host 127.0.0.1 --port 8081 --workers 1
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

FIXED_CARD = orjson.dumps({"cards": [{
    "uuid": "0d6a7c1e-2f4b-5c8d-9e1f-000000000001",
    "summary": "Back pain with red flags: consider urgent spine MRI",
    "indicator": "warning",
    "source": {"label": "Back-pain red-flag CDS (benchmark floor)"},
}]})


def create_app() -> FastAPI:
    """The floor app (a factory, like ``service.main:create_app``)."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if os.environ.get("BACKPAIN_CDS_BENCH_FLOOR_GC") == "tuned":
            from service.gc_tuning import tune_gc

            tune_gc()
        yield

    app = FastAPI(title="benchmark floor", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.post("/cds-services/{service_id}")
    async def invoke(service_id: str, request: Request) -> Response:
        body = orjson.loads(await request.body())
        if not isinstance(body, dict):
            return Response(status_code=400)
        return Response(FIXED_CARD, media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app
