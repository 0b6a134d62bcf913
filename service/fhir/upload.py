"""Writes resources to a FHIR server under their own ids (``PUT Type/id``), for sandboxes and tests.

PUT rather than POST or a transaction: every server that supports update-as-create keeps the ids
that prefetch templates and fixture cases refer to, and no transaction support is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import quote

import httpx

from service.errors import FhirAccessError
from service.fhir.client import FHIR_JSON, FhirServer
from service.record import Resource


async def put_resource(http: httpx.AsyncClient, server: FhirServer, resource: Resource) -> None:
    """Create or replace ``resource`` on ``server`` under its id."""
    kind, rid = resource.get("resourceType"), resource.get("id")
    if not isinstance(kind, str) or not isinstance(rid, str):
        raise ValueError("every resource to upload needs a resourceType and an id")
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if server.token:
        headers["Authorization"] = f"Bearer {server.token}"
    url = f"{server.base_url.rstrip('/')}/{kind}/{quote(rid, safe='')}"
    try:
        response = await http.put(url, json=dict(resource), headers=headers)
    except httpx.HTTPError as exc:
        raise FhirAccessError(f"PUT {kind}/{rid} failed ({type(exc).__name__})") from exc
    if response.status_code not in (200, 201):
        raise FhirAccessError(f"PUT {kind}/{rid} answered HTTP {response.status_code}")


async def put_resources(
    http: httpx.AsyncClient, server: FhirServer, resources: Iterable[Resource], *, parallel: int = 8
) -> int:
    """Upload every resource (at most ``parallel`` at a time); returns how many were written."""
    limit = asyncio.Semaphore(parallel)

    async def one(resource: Resource) -> None:
        async with limit:
            await put_resource(http, server, resource)

    items = list(resources)
    await asyncio.gather(*(one(r) for r in items))
    return len(items)
