"""Liveness probe: answers as long as the process serves HTTP."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.responses import JSONResponse

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})
