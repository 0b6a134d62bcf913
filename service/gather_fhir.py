"""The FHIR side of :mod:`service.gather`: the prefetch keys the request did not satisfy, asked of fhirServer.

Every pending key is fetched in parallel under the invocation's one deadline (:func:`run_all`). When the
server takes FHIR ``batch`` Bundles (its CapabilityStatement said so: :mod:`service.fhir.capability`) and
the ``fhir_batch`` setting is on, the keys' template queries go in one POST (:mod:`service.fhir.batch`);
what a batch cannot answer is asked alone, as every query is without batching. A server not yet known has
its statement read beside the queries, never before them. Both paths end in the same check
(:func:`_checked`): a Patient key must name the patient in context.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from service import metrics
from service.cdshooks.models import HookRequest
from service.cdshooks.prefetch import Prefetched
from service.errors import FhirAccessError
from service.fhir.batch import MIN_QUERIES, Batched, read_statement
from service.fhir.client import FhirClient, FhirServer
from service.fhir.query import FhirQuery, TemplateError, render
from service.knowledge.service_spec import PrefetchSpec, ServiceSpec
from service.record import Item
from service.record_assembly import is_context_patient
from service.settings import Settings

Job = Callable[[], Awaitable[Sequence[Item]]]


def _checked(item: PrefetchSpec, found: Sequence[Item], patient_id: str) -> Sequence[Item]:
    """``found`` for ``item``, unless a Patient key answered another patient (either path, issue 11)."""
    if item.resource_type == "Patient" and not is_context_patient(found, patient_id):
        raise FhirAccessError("the FHIR server answered another patient")
    return found


def _query(item: PrefetchSpec, request: HookRequest) -> FhirQuery:
    try:
        return render(item.query, request.context)
    except TemplateError as exc:
        raise FhirAccessError(str(exc)) from exc


def _job(
    key: str, request: HookRequest, item: PrefetchSpec, got: Prefetched, client: FhirClient, server: FhirServer,
    batch: Batched | None,
) -> Job:
    async def fetch_template() -> Sequence[Item]:
        query = _query(item, request)
        found = await batch.items(key) if batch is not None and key in batch else None
        if found is None:  # no batch, or the batch could not answer this query: ask it alone
            found = await client.fetch(server, query)
        return _checked(item, found, request.context.patient_id)

    async def run() -> Sequence[Item]:
        if got.resources is not None and got.next_url is not None:
            try:  # the client paginated its prefetch: read the remaining pages
                rest = await client.pages(server, got.next_url, item.resource_type)
                return [*got.resources, *rest]
            except FhirAccessError:
                pass  # e.g. a next link to another host: ask our way instead
        return await fetch_template()

    return run


def _batch(
    request: HookRequest, spec: ServiceSpec, pending: Mapping[str, Prefetched], client: FhirClient,
    server: FhirServer, settings: Settings,
) -> Batched | None:
    """The invocation's batch, if the server is known to take one; a server not yet known is asked
    (in the background) whether it does, and this invocation's queries go alone."""
    if not settings.fhir_batch:
        return None
    queries: dict[str, FhirQuery] = {}
    for key, got in pending.items():
        if got.resources is not None and got.next_url is not None:
            continue  # the rest of a paginated prefetch: its own pages, not a template query
        try:
            queries[key] = _query(spec.prefetch[key], request)
        except FhirAccessError:
            continue  # fails in its job, as without a batch
    if len(queries) < MIN_QUERIES:
        return None  # nothing to batch: the statement is not worth reading yet
    verdicts = client.batch_verdicts
    verdict = verdicts.allows(server.base_url)
    if verdict is None:
        deadline = settings.fhir_deadline_seconds
        verdicts.probe(server.base_url, lambda: read_statement(client, server, deadline))
    if not verdict:
        return None
    return Batched(client, server, queries)


async def fetch_pending(
    request: HookRequest, spec: ServiceSpec, pending: Mapping[str, Prefetched], client: FhirClient,
    server: FhirServer, settings: Settings,
) -> tuple[dict[str, Sequence[Item]], dict[str, str]]:
    """Fetch every pending key under the deadline: the found items and the failures by key."""
    types = {k: spec.prefetch[k].resource_type for k in pending}
    client.parse_until = asyncio.get_running_loop().time() + settings.fhir_deadline_seconds
    batch = _batch(request, spec, pending, client, server, settings)
    jobs = {k: _job(k, request, spec.prefetch[k], got, client, server, batch) for k, got in pending.items()}
    if batch is not None:
        batch.start()
    try:
        return await run_all(jobs, settings.fhir_deadline_seconds, types)
    finally:
        if batch is not None:
            batch.finish()


async def run_all(
    jobs: dict[str, Job], deadline: float, types: dict[str, str]
) -> tuple[dict[str, Sequence[Item]], dict[str, str]]:
    """Run every job concurrently; whatever has not finished at the deadline is cancelled and failed."""
    results: dict[str, Sequence[Item]] = {}
    failures: dict[str, str] = {}
    started = time.perf_counter()

    async def one(key: str, job: Job) -> None:
        begin = time.perf_counter()
        try:
            results[key] = await job()
        except FhirAccessError as exc:
            failures[key] = exc.message
            metrics.observe_fhir(types[key], time.perf_counter() - begin, exc.reason)
        else:
            metrics.observe_fhir(types[key], time.perf_counter() - begin)

    tasks = [asyncio.create_task(one(key, job)) for key, job in jobs.items()]
    try:
        async with asyncio.timeout(deadline):
            await asyncio.gather(*tasks)
    except TimeoutError:
        for key in jobs.keys() - results.keys() - failures.keys():
            failures[key] = f"no answer within the {deadline:g} s deadline"
            metrics.observe_fhir(types[key], time.perf_counter() - started, "deadline")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results, failures
