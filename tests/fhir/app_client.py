"""The real app over ``httpx.ASGITransport`` with its lifespan, for async tests that also run servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from service.clock import frozen_clock, system_clock
from service.knowledge import Knowledge
from service.main import create_app
from tests.support.app import settings_for

SERVICE_URL = "/cds-services/back-pain-red-flags"


@asynccontextmanager
async def app_client(
    tmp_path: Path, *, as_of: datetime | None = None, knowledge: Knowledge | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to ``create_app`` in-process; ``as_of`` freezes the engine's "now"."""
    clock = frozen_clock(as_of) if as_of else system_clock
    app = create_app(settings_for(tmp_path, **settings), clock=clock, knowledge=knowledge)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cds.test") as client:
            yield client
