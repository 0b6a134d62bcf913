"""Async FHIR R4 client for the CDS client's FHIR server: reads and paged searches.

One :class:`~service.fhir.transport.FhirHttp` (an aiohttp session: connection pool, timeouts, no
cookies) is shared by the whole app; redirects are never followed. The base URL and bearer token
change per call, so they travel in a :class:`FhirServer` value. Every
failure becomes a :class:`FhirAccessError` whose message is a short reason (status code, timeout,
not JSON, not FHIR) without URLs, so it can be logged and shown to the CDS client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from service.errors import FhirAccessError
from service.fhir import decode as fast
from service.fhir.capability import BatchVerdicts
from service.fhir.decode import Value
from service.fhir.limits import CallbackLimits, CapExceeded
from service.fhir.query import FhirQuery
from service.fhir.searchset import Page, read_answer_page
from service.fhir.transport import FhirHttp
from service.record import Item
from service.settings import Settings

__all__ = ["CallbackLimits", "CapExceeded", "FhirClient", "FhirServer", "decode_resource"]

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
    """Reads and searches for ONE invocation: it counts the bytes and resources that invocation took."""

    def __init__(
        self,
        http: FhirHttp,
        *,
        page_cap: int = 20,
        limits: CallbackLimits | None = None,
    ) -> None:
        self._http = http
        self._page_cap = page_cap
        self._limits = limits or CallbackLimits()
        self._bytes_used = 0
        self._resources_used = 0
        # Event-loop time after which a completed answer is dropped unparsed (set by gather).
        self.parse_until: float | None = None

    @property
    def limits(self) -> CallbackLimits:
        return self._limits

    @property
    def batch_verdicts(self) -> BatchVerdicts:
        """Which servers take batch Bundles: the process's memory, kept by its HTTP client."""
        return self._http.batch_verdicts

    @classmethod
    def for_invocation(cls, http: FhirHttp, settings: Settings) -> FhirClient:
        """The client every hook call and CLI run uses: the page cap and byte/resource caps of the settings."""
        return cls(http, page_cap=settings.fhir_page_cap, limits=CallbackLimits.from_settings(settings))

    async def fetch(self, server: FhirServer, query: FhirQuery) -> list[Item]:
        """The resources ``query`` yields: a read gives zero or one, a search every page."""
        if query.is_read:
            found = await self.read(server, query)
            return [] if found is None else [found]
        return await self.search(server, query)

    async def read(self, server: FhirServer, query: FhirQuery) -> Item | None:
        """Read one resource; ``None`` when the server says it does not exist (404/410).

        A Struct of :mod:`service.fhir.decode` for the types the rules read, the plain dict otherwise.
        """
        value = await self._get(server, _join(server.base_url, query.relative_url()), absent_ok=True)
        if value is None:
            return None
        if value.resource_type != query.resource_type:
            # The server's resourceType is not echoed: 412 messages never carry the server's content.
            raise FhirAccessError(f"read did not return a {query.resource_type}", "invalid")
        self.count_resources(1)
        found: Item = value.single()
        return found

    async def search(self, server: FhirServer, query: FhirQuery) -> list[Item]:
        """Run a search and follow its ``next`` links."""
        return await self.pages(server, _join(server.base_url, query.relative_url()), query.resource_type)

    async def pages(self, server: FhirServer, url: str, resource_type: str, *, read: int = 0) -> list[Item]:
        """Collect the entries of the searchset at ``url`` and of every page after it.

        ``read``: pages of this search already read (a batch's first page), counted against the cap.
        More pages than the cap is an error rather than a truncation: partial data could hide a red flag.
        """
        resources: list[Item] = []
        next_url: str | None = url
        pages = read
        while next_url is not None:
            if pages >= self._page_cap:
                raise FhirAccessError(f"search has more than {self._page_cap} pages")
            if _origin(next_url) != server.origin:
                raise FhirAccessError("a paging link points away from the FHIR server")
            value = await self._get(server, next_url)
            if value is None or value.resource_type != "Bundle":
                raise FhirAccessError("search did not return a Bundle")
            page = self.page(value, resource_type)
            resources.extend([*page.resources, *(medication for _, medication in page.medications)])
            next_url = page.next_url
            pages += 1
        return resources

    def page(self, value: Value, resource_type: str) -> Page[Item]:
        """The ``resource_type`` matches and Medications of a searchset page, its entries counted.

        An error OperationOutcome among the entries means the server could not answer fully: fail rather
        than evaluate on partial data (:func:`service.fhir.searchset.read_page`, the prefetch's rule too).
        """
        answer = read_answer_page(value, resource_type)
        if answer is None:
            raise FhirAccessError("search answered a Bundle whose entry or link is not a list", "invalid")
        page, entries = answer
        self.count_resources(entries)
        if page is None:
            raise FhirAccessError("search result carries an error OperationOutcome")
        return page

    async def _get(self, server: FhirServer, url: str, *, absent_ok: bool = False) -> Value | None:
        content = await self.send(server, url, absent_ok=absent_ok)
        return None if content is None else decode_resource(content)

    async def send(
        self, server: FhirServer, url: str, *, body: bytes | None = None, cap: int | None = None,
        absent_ok: bool = False,
    ) -> bytes | None:
        """The body of a 200 answer to a GET (with ``body``: a POST) of ``url``; ``None`` for 404/410 if ``absent_ok``.

        ``cap`` replaces the per-response byte cap (a batch answers several queries at once); the
        invocation's budget, the refusal of redirects and encodings and the deadline apply as always.
        """
        # identity: a compressed body would make the byte cap count compressed bytes (a zip bomb).
        headers = {"Accept": FHIR_JSON, "Accept-Encoding": "identity"}
        if body is not None:
            headers["Content-Type"] = FHIR_JSON
        if server.token:
            headers["Authorization"] = f"Bearer {server.token}"
        method = "GET" if body is None else "POST"
        try:
            async with self._http.session().request(
                method, _wire_url(url), data=body, headers=headers, allow_redirects=False
            ) as response:
                if absent_ok and response.status in (404, 410):
                    return None
                if response.status != 200:
                    raise FhirAccessError(f"FHIR server answered HTTP {response.status}", "status",
                                          http_status=response.status)
                content = await self._read_capped(response, self._limits.response_bytes if cap is None else cap)
        except TimeoutError as exc:  # aiohttp's connect and socket-read timeouts are TimeoutErrors too
            raise FhirAccessError("FHIR server timed out", "timeout") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            # ValueError: what aiohttp raises for a URL or header it will not send (e.g. CR/LF in a token).
            raise FhirAccessError(f"FHIR server unreachable ({type(exc).__name__})", "connect") from exc
        if self.parse_until is not None and asyncio.get_running_loop().time() >= self.parse_until:
            # Parsing holds the event loop; an answer completed after the deadline is not worth it.
            raise FhirAccessError("answer arrived after the deadline", "deadline")
        return content

    async def _read_capped(self, response: aiohttp.ClientResponse, cap: int) -> bytes:
        """The body, refusing more than ``cap`` or the invocation's remaining budget (:class:`CapExceeded`).

        The budget is charged as chunks arrive, so callbacks running in parallel share it live. The
        session reads with back-pressure (transport.py): a chunk is at most what its buffer holds.
        """
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FhirAccessError("FHIR server answered with a content encoding we did not ask for", "invalid")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise CapExceeded(self._limits.too_many_bytes(False, cap), "invalid")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():  # identity only (checked above): bytes == wire bytes
            size += len(chunk)
            self._bytes_used += len(chunk)
            if size > cap or self._bytes_used > self._limits.invocation_bytes:
                # The exception's traceback keeps this frame alive until the cycle collector runs,
                # which tune_gc makes rare: drop the buffered chunks now, not then.
                chunks.clear()
                raise CapExceeded(self._limits.too_many_bytes(size <= cap, cap), "invalid")
            chunks.append(chunk)
        return b"".join(chunks)

    def count_resources(self, count: int) -> None:
        if count > self._limits.response_resources:
            raise FhirAccessError(f"FHIR server answered more than {self._limits.response_resources} resources "
                                  "in one response", "invalid")
        self._resources_used += count
        if self._resources_used > self._limits.invocation_resources:
            raise FhirAccessError(f"FHIR callbacks of this invocation exceeded "
                                  f"{self._limits.invocation_resources} resources", "invalid")


def decode_resource(content: bytes) -> Value:
    """Bytes of a FHIR answer to the resource (a Bundle for searches): the one bytes-to-data step.

    The same one-pass decoder as the request's prefetch (:mod:`service.fhir.decode`): Structs for the
    resources the rules read, plain JSON through the tolerant path for anything else.
    """
    try:
        value = fast.decode_resource(content)
    except fast.InvalidJson as exc:
        raise FhirAccessError("FHIR server answered something that is not JSON", "invalid") from exc
    if not isinstance(value.resource_type, str):
        raise FhirAccessError("FHIR server answered JSON that is not a FHIR resource", "invalid")
    return value


def _wire_url(url: str) -> URL:
    """The URL to send: as rendered, percent-encoding kept, when it is plain printable ASCII.

    yarl would otherwise re-quote it (``Patient%2Fp1`` becomes ``Patient/p1``) at a cost on every
    call; anything else (a space, a line break, a non-ASCII host) is left to yarl to quote or strip,
    so it can never reach the request line raw.
    """
    if url.isascii() and url.isprintable() and " " not in url:
        return URL(url, encoded=True)
    return URL(url)


def _join(base_url: str, relative: str) -> str:
    return f"{base_url.rstrip('/')}/{relative}"
