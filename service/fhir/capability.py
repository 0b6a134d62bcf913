"""Whether a FHIR server takes ``batch`` Bundles: its CapabilityStatement, read once and remembered (issue 17).

The verdict is kept per base URL for the process (:attr:`service.fhir.transport.FhirHttp.batch_verdicts`):
a statement that declares the ``batch`` system interaction is believed for :data:`KEEP_SECONDS`, so is
one that does not; one that cannot be read (an error, a timeout, not a CapabilityStatement) is asked again
after :data:`RETRY_SECONDS`; a server whose batch failed as a whole (:mod:`service.fhir.batch`) gets no
batch for :data:`KEEP_SECONDS`. The statement is read beside an invocation's own queries, never before
them (:meth:`BatchVerdicts.probe`), so no invocation waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

KEEP_SECONDS = 600.0
RETRY_SECONDS = 60.0
MAX_SERVERS = 1024  # base URLs remembered; beyond this the memory starts again (statements are re-read)


class _Statement(msgspec.Struct, gc=False):
    resourceType: Any = None
    rest: Any = None


_STATEMENT = msgspec.json.Decoder(_Statement)


def declares_batch(content: bytes) -> bool | None:
    """Whether the CapabilityStatement in ``content`` lists ``batch`` in a ``rest.interaction``; ``None``
    when the bytes are not a CapabilityStatement (then nothing is concluded)."""
    try:
        statement = _STATEMENT.decode(content)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    if statement.resourceType != "CapabilityStatement":
        return None
    rests = statement.rest if isinstance(statement.rest, list) else []
    return any(
        isinstance(interaction, dict) and interaction.get("code") == "batch"
        for rest in rests if isinstance(rest, dict) and isinstance(rest.get("interaction"), list)
        for interaction in rest["interaction"]
    )


class BatchVerdicts:
    """Per base URL: batch or not, until when; and the statement reads under way (at most one per server)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._verdicts: dict[str, tuple[bool, float]] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}

    def allows(self, base_url: str) -> bool | None:
        """True/False while a verdict holds; ``None`` when there is none (the statement should be read)."""
        verdict = self._verdicts.get(base_url)
        if verdict is None or verdict[1] <= self._clock():
            return None
        return verdict[0]

    def record(self, base_url: str, declared: bool | None) -> None:
        """What the statement said; ``None`` (unreadable) means no batch, asked again after a minute."""
        if len(self._verdicts) >= MAX_SERVERS and base_url not in self._verdicts:
            self._verdicts.clear()
        keep = RETRY_SECONDS if declared is None else KEEP_SECONDS
        self._verdicts[base_url] = (bool(declared), self._clock() + keep)

    def refuse(self, base_url: str) -> None:
        """A batch to this server failed as a whole: its queries go alone for :data:`KEEP_SECONDS`."""
        self.record(base_url, False)

    def probe(self, base_url: str, read: Callable[[], Awaitable[bool | None]]) -> None:
        """Read the statement in the background (unless a read is under way) and record the verdict."""
        running = self._probes.get(base_url)
        if running is not None and not running.done() and running.get_loop() is asyncio.get_running_loop():
            return  # a read under way (a task of a closed loop never finishes: it does not count)

        async def run() -> None:
            try:
                declared = await read()
            except Exception:  # any failure of the read: unreadable, try again later
                declared = None
            self.record(base_url, declared)

        task = asyncio.get_running_loop().create_task(run())
        self._probes[base_url] = task
        task.add_done_callback(lambda done: self._probes.pop(base_url) if self._probes.get(base_url) is done else None)

    async def settled(self) -> None:
        """Wait for the statement reads under way (tests, and closing the session)."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(t for t in self._probes.values() if t.get_loop() is loop), return_exceptions=True)

    def cancel(self) -> None:
        for task in self._probes.values():
            task.cancel()
