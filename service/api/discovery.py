"""``GET /cds-services``: the discovery document, built from ``cards/service.json`` (spec B1-B4)."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import Authenticated, State
from service.api.responses import JSONResponse
from service.cdshooks.models import DiscoveryResponse, dump_clean

router = APIRouter()


@router.get("/cds-services", dependencies=[Authenticated], response_model=DiscoveryResponse)
async def discovery(state: State) -> JSONResponse:
    document = DiscoveryResponse(services=state.knowledge.service.discovery_entries())
    return JSONResponse(dump_clean(document))
