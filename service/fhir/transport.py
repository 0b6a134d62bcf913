"""The outbound HTTP clients: aiohttp for FHIR callbacks, httpx for the rare JWK Set fetch (issues 16, 17).

FHIR callbacks (:class:`FhirHttp`) go through one ``aiohttp.ClientSession`` per process. Measured
against the Medplum test server (issue 17), the ten searches and one read of a no-prefetch invocation
cost 2.7-3.2 ms of CPU through aiohttp, 6.5-6.9 ms through httpx over an aiohttp transport and
10-13 ms through httpx with the flow-controlled transport below. aiohttp reads with back-pressure:
its ``StreamReader`` pauses the socket once twice ``read_bufsize`` bytes are buffered, so a server that
writes faster than we consume cannot fill memory. The session never stores cookies (an answer from one
FHIR server cannot put state into the calls of another invocation), ignores proxy variables unless
``use_proxy_env`` says so, and follows no redirects (the client asks for that on every call).

JWK Sets are fetched through httpx (:func:`key_set_http`) with the flow-controlled transport:
httpx's default network layer (httpcore over anyio) queues every byte the kernel hands it and never
pauses the socket; ``asyncio.StreamReader`` pauses its transport once about 128 KiB are buffered.
Everything above the socket (HTTP/1.1 parsing, the connection pool, TLS settings) is httpcore's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import aiohttp
import httpcore
import httpx

from service.fhir.capability import BatchVerdicts
from service.settings import Settings


@lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying TLS context (certifi's CA bundle, or ``SSL_CERT_FILE``), built once per process.

    Loading the bundle costs ~50 ms of CPU; httpx builds one for every client and transport it makes
    (each ``create_app`` paid it twice). A context is made to be shared by many connections.
    """
    return httpx.create_ssl_context()


READ_BUFFER = 64 * 1024  # StreamReader limit (both clients): the socket pauses at twice this
MAX_CONNECTIONS = 100  # per process, as httpx's default pool


class FhirHttp:
    """The process's HTTP client for FHIR callbacks: an aiohttp session opened on first use.

    aiohttp binds a session to the event loop it was made on, and ``create_app`` runs before any
    loop exists, so the session is made by the first call; a call from another loop (a test's second
    ``TestClient``) gets a fresh session, the old one being dropped with its loop.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 1.5,
        trust_env: bool = False,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        # sock_read bounds each wait for bytes (httpx's read timeout); the invocation's deadline bounds the total.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._trust_env = trust_env
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Whether each FHIR server takes batch Bundles, for the whole process (service/fhir/capability.py).
        self.batch_verdicts = BatchVerdicts()

    @classmethod
    def from_settings(cls, settings: Settings) -> FhirHttp:
        return cls(
            connect_timeout=settings.fhir_connect_timeout_seconds,
            read_timeout=settings.fhir_read_timeout_seconds,
            trust_env=settings.use_proxy_env,
        )

    @property
    def trust_env(self) -> bool:
        """Whether HTTP(S)_PROXY and friends are honoured (off unless ``use_proxy_env``: issue 16)."""
        return self._trust_env

    def session(self) -> aiohttp.ClientSession:
        """The session of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                trust_env=self._trust_env,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # the byte caps count wire bytes; encoded answers are refused
                read_bufsize=READ_BUFFER,
                raise_for_status=False,
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        self.batch_verdicts.cancel()
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()

    async def __aenter__(self) -> FhirHttp:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def key_set_http(settings: Settings) -> httpx.AsyncClient:
    """The httpx client of JWK Set fetches: no redirects, proxies only when the setting asks."""
    timeout = httpx.Timeout(settings.fhir_read_timeout_seconds, connect=settings.fhir_connect_timeout_seconds)
    transport = None if settings.use_proxy_env else FlowControlledTransport()
    return httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=settings.use_proxy_env, transport=transport,
        verify=default_ssl_context(),
    )


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except (OSError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":  # an idle pooled connection with EOF or stray bytes is not reused
            return self._reader.at_eof() or bool(getattr(self._reader, "_buffer", b""))
        return None


class FlowControlledBackend(httpcore.AsyncNetworkBackend):
    """TCP connections through asyncio streams (which pause the socket when their buffer is full)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, limit=READ_BUFFER, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FlowControlledTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` with :class:`FlowControlledBackend` under its connection pool."""

    def __init__(self, limits: httpx.Limits = httpx.Limits()) -> None:  # noqa: B008 - immutable
        context = default_ssl_context()
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=FlowControlledBackend(),
        )
