"""An invocation's template queries in one FHIR ``batch`` POST, and what to do when it fails (issue 17).

Medplum (one Node thread) answers parallel GETs one after another, and each answer wakes our event loop
from idle: measured, that wake-up, not the client's work, is most of the no-prefetch CPU. One batch is one
answer. It is only sent to a server whose CapabilityStatement declares ``batch``
(:mod:`service.fhir.capability`), and it never weakens a protection of the queries asked alone:

- the whole batch fails (:class:`BatchRefused`: not a 200, a timeout, not a ``batch-response``, the
  wrong number of entries, or still unanswered at the deadline): every query is asked alone and the server
  gets no batch for a while (ten minutes when it answered but not as a batch, a back-off from one minute
  when the failure was one any request can meet: :mod:`service.fhir.capability`);
- one entry fails (:class:`EntryRefused`: not 2xx, no resource, a read of the wrong type, a search not
  answered by a readable Bundle, an error OperationOutcome): that query alone is asked again;
- the byte caps: the batch may hold each entry's share (``entries × response_bytes``) within the
  invocation's budget, and each entry alone is held to ``response_bytes`` (:class:`CapExceeded` fails the
  query, it says nothing about batching); resources are counted per entry as per answer;
- later pages are asked with GET like any page, the batch's page counted against the page cap;
- the deadline, the ``search.mode``/OperationOutcome rule and the identity checks are the caller's, as
  for every answer (:mod:`service.gather_fhir`).
"""

from __future__ import annotations

import asyncio

import orjson

from service.errors import FhirAccessError
from service.fhir.capability import declares_batch
from service.fhir.client import CapExceeded, FhirClient, FhirServer
from service.fhir.decode import BatchEntry, InvalidJson, decode_batch
from service.fhir.query import FhirQuery
from service.fhir.searchset import read_answer_page
from service.record import Item

MIN_QUERIES = 2  # one query gains nothing from a batch


class BatchRefused(Exception):
    """The batch failed as a whole: ask every query alone, send this server no batch for a while.

    ``transient``: it failed as any request can (timeout, unreachable, 5xx, 408, 429), which says nothing
    about the server's batches, so the pause is a short back-off rather than the ten-minute refusal.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _transient(exc: FhirAccessError) -> bool:
    if exc.reason in ("timeout", "connect"):
        return True
    status = exc.http_status
    return exc.reason == "status" and status is not None and (status >= 500 or status in (408, 429))


class EntryRefused(Exception):
    """One entry of the batch-response is not a usable answer: ask that query alone."""


def batch_body(queries: list[FhirQuery]) -> bytes:
    """A ``batch`` Bundle of one GET per query, in order (the batch-response answers in the same order)."""
    entries = [{"request": {"method": "GET", "url": query.relative_url()}} for query in queries]
    return orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries})


async def post_batch(client: FhirClient, server: FhirServer, queries: list[FhirQuery]) -> tuple[BatchEntry, ...]:
    """POST the batch to the base URL; one :class:`BatchEntry` per query.

    Raises:
        BatchRefused: the server did not answer the batch as a batch.
        CapExceeded / FhirAccessError: a byte cap was hit, or the answer came after the deadline; those
            fail the queries as they would have failed alone.
    """
    cap = len(queries) * client.limits.response_bytes  # and, as for every answer, the invocation's budget
    try:
        content = await client.send(server, server.base_url.rstrip("/"), body=batch_body(queries), cap=cap)
    except CapExceeded:
        raise
    except FhirAccessError as exc:
        if exc.reason == "deadline":
            raise
        raise BatchRefused(exc.message, transient=_transient(exc)) from exc
    assert content is not None  # not absent_ok
    try:
        entries = decode_batch(content)
    except InvalidJson as exc:
        raise BatchRefused("batch answer is not JSON") from exc
    if entries is None:
        raise BatchRefused("batch was not answered by a batch-response")
    if len(entries) != len(queries):
        raise BatchRefused("batch-response has the wrong number of entries")
    return entries


async def entry_items(client: FhirClient, server: FhirServer, query: FhirQuery, entry: BatchEntry) -> list[Item]:
    """What ``query`` yields from its batch entry, later pages read with GET.

    Raises:
        EntryRefused: ask the query alone.
        FhirAccessError: a cap, or a failed later page (as for a search asked alone).
    """
    value = entry.value
    if entry.status is None or not 200 <= entry.status < 300 or value is None:
        raise EntryRefused
    if entry.size > client.limits.response_bytes:
        raise CapExceeded(client.limits.too_many_bytes(False, client.limits.response_bytes), "invalid")
    if query.is_read:
        if value.resource_type != query.resource_type:
            raise EntryRefused
        client.count_resources(1)
        return [value.single()]
    if value.resource_type != "Bundle":
        raise EntryRefused
    answer = read_answer_page(value, query.resource_type)
    page, count = answer or (None, 0)
    if page is None:  # not a readable searchset, or an error OperationOutcome in it
        raise EntryRefused
    client.count_resources(count)
    found: list[Item] = [*page.resources, *(medication for _, medication in page.medications)]
    if page.next_url is not None:
        found.extend(await client.pages(server, page.next_url, query.resource_type, read=1))
    return found


async def read_statement(client: FhirClient, server: FhirServer, timeout: float) -> bool | None:
    """Whether the server's ``/metadata`` declares ``batch``; ``None`` if it cannot be read in ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            content = await client.send(server, f"{server.base_url.rstrip('/')}/metadata")
    except (FhirAccessError, TimeoutError):
        return None
    return None if content is None else declares_batch(content)


class Batched:
    """One invocation's batch: started once, shared by the jobs of its queries, each reading its entry."""

    def __init__(self, client: FhirClient, server: FhirServer, queries: dict[str, FhirQuery]) -> None:
        self._client = client
        self._server = server
        self._queries = queries
        self._index = {key: i for i, key in enumerate(queries)}
        self._task: asyncio.Task[tuple[BatchEntry, ...]] | None = None
        self._answered = False

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            post_batch(self._client, self._server, list(self._queries.values()))
        )

    async def items(self, key: str) -> list[Item] | None:
        """What ``key``'s query yields from the batch; ``None`` when it must be asked alone."""
        assert self._task is not None
        verdicts = self._client.batch_verdicts
        try:
            entries = await asyncio.shield(self._task)  # one job cancelled must not cancel the others' batch
        except BatchRefused as exc:
            if exc.transient:
                verdicts.back_off(self._server.base_url)
            else:
                verdicts.refuse(self._server.base_url)
            return None
        if not self._answered:
            self._answered = True
            verdicts.answered(self._server.base_url)
        try:
            return await entry_items(self._client, self._server, self._queries[key], entries[self._index[key]])
        except EntryRefused:
            return None

    def finish(self) -> None:
        """After the jobs: a batch still running at the deadline is cancelled and backs batching off."""
        task = self._task
        if task is None:
            return
        if not task.done():
            task.cancel()
            self._client.batch_verdicts.back_off(self._server.base_url)
        elif not task.cancelled():
            task.exception()  # retrieved, so an unawaited failure is not reported as lost
