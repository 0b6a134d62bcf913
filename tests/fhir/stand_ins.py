"""Fault-injecting stand-ins for what Medplum cannot do: servers that never answer, drip or flood."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def hanging_server() -> AsyncIterator[str]:
    stop = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(65536)
        await stop.wait()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        stop.set()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def scripted_server(handler: Handler) -> AsyncIterator[str]:
    """A loopback HTTP server whose every connection runs ``handler`` (hostile sizes, slow drips)."""
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        for task in tasks:
            task.cancel()
        server.close()
        await server.wait_closed()


Answer = Callable[[web.Request], web.StreamResponse | Awaitable[web.StreamResponse]]


@asynccontextmanager
async def answering_server(answer: Answer) -> AsyncIterator[str]:
    """A loopback HTTP server (aiohttp.web) whose every request is answered by ``answer`` (a response, or a
    coroutine giving one): faults at the HTTP level.

    Yields the FHIR base URL ``http://127.0.0.1:<port>/fhir``; ``answer`` sees the real request the
    client sent (headers, path, query) and returns the response to put on the wire.
    """
    async def handle(request: web.Request) -> web.StreamResponse:
        response = answer(request)
        return response if isinstance(response, web.StreamResponse) else await response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    # A hanging answer is cancelled soon after the test is done with it, not awaited (aiohttp waits 60 s).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        await runner.cleanup()
