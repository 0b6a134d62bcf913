"""Whether a FHIR server takes ``batch`` Bundles: its CapabilityStatement, read once and remembered (issue 17).

The verdict is kept per base URL for the process (:attr:`service.fhir.transport.FhirHttp.batch_verdicts`):
a statement that declares the ``batch`` system interaction is believed for :data:`KEEP_SECONDS`, so is
one that does not; one that cannot be read (an error, a timeout, not a CapabilityStatement) is asked again
after :data:`RETRY_SECONDS`. A server that answered a batch but not as a batch (:mod:`service.fhir.batch`:
a 4xx, not a batch-response, the wrong number of entries) gets no batch for :data:`KEEP_SECONDS`; one whose
batch failed the way any request can (slow past the read timeout or the deadline, unreachable, 5xx, 408/429)
gets none for :data:`RETRY_SECONDS`, doubled at each such failure in a row up to :data:`KEEP_SECONDS`, and a
batch answered resets that. One slow answer of a busy server thus costs a minute of single queries, not ten
(ten times the requests to a server that is already struggling), while a server that is slow at every batch
(one that runs the entries one after another) is soon asked only every ten minutes again.

The statement is read beside an invocation's own queries, never before them (:meth:`BatchVerdicts.probe`),
so no invocation waits for it.
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
        self._failures: dict[str, int] = {}  # transient batch failures in a row, per base URL
        self._probes: dict[str, asyncio.Task[None]] = {}

    def allows(self, base_url: str) -> bool | None:
        """True/False while a verdict holds; ``None`` when there is none (the statement should be read)."""
        verdict = self._verdicts.get(base_url)
        if verdict is None or verdict[1] <= self._clock():
            return None
        return verdict[0]

    def record(self, base_url: str, declared: bool | None) -> None:
        """What the statement said; ``None`` (unreadable) means no batch, asked again after a minute."""
        self._keep(base_url, bool(declared), RETRY_SECONDS if declared is None else KEEP_SECONDS)

    def _keep(self, base_url: str, allowed: bool, seconds: float) -> None:
        if len(self._verdicts) >= MAX_SERVERS and base_url not in self._verdicts:
            self._verdicts.clear()
            self._failures.clear()
        self._verdicts[base_url] = (allowed, self._clock() + seconds)

    def refuse(self, base_url: str) -> None:
        """The server answered a batch, but not as a batch: its queries go alone for :data:`KEEP_SECONDS`."""
        self._keep(base_url, False, KEEP_SECONDS)

    def back_off(self, base_url: str) -> None:
        """A batch failed as any request can (slow, unreachable, 5xx): no batch for a minute, doubled at each
        such failure in a row, at most :data:`KEEP_SECONDS`.

        Batches already under way when one failed fail alike (an overload fails them all): while a refusal
        holds, another failure neither counts nor shortens it.
        """
        current = self._verdicts.get(base_url)
        if current is not None and not current[0] and current[1] > self._clock():
            return
        failures = self._failures.get(base_url, 0) + 1
        self._keep(base_url, False, min(RETRY_SECONDS * 2 ** min(failures - 1, 16), KEEP_SECONDS))
        self._failures[base_url] = failures  # after _keep, which clears both maps when they are full

    def answered(self, base_url: str) -> None:
        """A batch was answered as a batch: the next transient failure backs off for a minute again."""
        self._failures.pop(base_url, None)

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
