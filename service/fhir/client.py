"""Async FHIR R4 client for the CDS client's FHIR server: reads and paged searches.

One ``httpx.AsyncClient`` is shared by the whole app (connection pool, timeouts, no redirects); the
base URL and bearer token change per call, so they travel in a :class:`FhirServer` value. Every
failure becomes a :class:`FhirAccessError` whose message is a short reason (status code, timeout,
not JSON, not FHIR) without URLs, so it can be logged and shown to the CDS client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from service.errors import FhirAccessError
from service.fhir.query import FhirQuery
from service.fhir.searchset import next_link, read_page
from service.record import Resource

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class FhirServer:
    """Where to send queries and the token to present; the token stays out of ``repr``."""

    base_url: str
    token: str | None = field(default=None, repr=False)

    @property
    def origin(self) -> tuple[str, str, int | None]:
        return _origin(self.base_url)


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError as exc:  # e.g. a non-numeric port in a paging link
        raise FhirAccessError("malformed URL from the FHIR server") from exc
    return parts.scheme, (parts.hostname or "").lower(), port


class FhirClient:
    """Reads and searches on behalf of one invocation at a time; holds no per-request state."""

    def __init__(self, http: httpx.AsyncClient, *, page_cap: int = 20, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._http = http
        self._page_cap = page_cap
        self._max_bytes = max_bytes

    async def fetch(self, server: FhirServer, query: FhirQuery) -> list[Resource]:
        """The resources ``query`` yields: a read gives zero or one, a search every page."""
        if query.is_read:
            found = await self.read(server, query)
            return [] if found is None else [found]
        return await self.search(server, query)

    async def read(self, server: FhirServer, query: FhirQuery) -> Resource | None:
        """Read one resource; ``None`` when the server says it does not exist (404/410)."""
        body = await self._get(server, _join(server.base_url, query.relative_url()), absent_ok=True)
        if body is None:
            return None
        if body.get("resourceType") != query.resource_type:
            raise FhirAccessError(f"read returned {body.get('resourceType')!r}, not {query.resource_type}")
        return body

    async def search(self, server: FhirServer, query: FhirQuery) -> list[Resource]:
        """Run a search and follow its ``next`` links."""
        return await self.pages(server, _join(server.base_url, query.relative_url()), query.resource_type)

    async def pages(self, server: FhirServer, url: str, resource_type: str) -> list[Resource]:
        """Collect the entries of the searchset at ``url`` and of every page after it.

        More pages than the cap is an error rather than a truncation: partial data could hide a red flag.
        """
        resources: list[Resource] = []
        next_url: str | None = url
        pages = 0
        while next_url is not None:
            if pages >= self._page_cap:
                raise FhirAccessError(f"search has more than {self._page_cap} pages")
            if _origin(next_url) != server.origin:
                raise FhirAccessError("a paging link points away from the FHIR server")
            body = await self._get(server, next_url)
            if body is None or body.get("resourceType") != "Bundle":
                raise FhirAccessError("search did not return a Bundle")
            resources.extend(bundle_resources(body, resource_type))
            next_url = next_link(body)
            pages += 1
        return resources

    async def _get(self, server: FhirServer, url: str, *, absent_ok: bool = False) -> dict[str, Any] | None:
        headers = {"Accept": FHIR_JSON}
        if server.token:
            headers["Authorization"] = f"Bearer {server.token}"
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                if absent_ok and response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    raise FhirAccessError(f"FHIR server answered HTTP {response.status_code}", "status")
                content = await self._read_capped(response)
        except httpx.TimeoutException as exc:
            raise FhirAccessError("FHIR server timed out", "timeout") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FhirAccessError(f"FHIR server unreachable ({type(exc).__name__})", "connect") from exc
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise FhirAccessError("FHIR server answered something that is not JSON", "invalid") from exc
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FhirAccessError("FHIR server answered JSON that is not a FHIR resource", "invalid")
        return body

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refusing more than ``max_bytes``: the server URL comes from the caller."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise FhirAccessError(f"FHIR server answered more than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _join(base_url: str, relative: str) -> str:
    return f"{base_url.rstrip('/')}/{relative}"


def bundle_resources(bundle: Resource, resource_type: str) -> list[Resource]:
    """The ``resource_type`` matches of a searchset page followed by the Medications it carried.

    An error OperationOutcome among the entries means the server could not answer fully: fail rather
    than evaluate on partial data (:func:`service.fhir.searchset.read_page`, the prefetch's rule too).
    """
    page = read_page(bundle, resource_type)
    if page is None:
        raise FhirAccessError("search result carries an error OperationOutcome")
    return [*page.resources, *(medication for _, medication in page.medications)]
