"""Turns a request into a :class:`PatientRecord`: prefetch first, then the FHIR server (spec E10, E11).

Every key the prefetch does not satisfy is fetched, all in parallel, under one deadline for the whole
invocation (a hook answer that arrives after the EHR gave up helps nobody). Optional keys that still
fail are reported as ``unavailable`` so the card can say what was not evaluated; a required key that
fails stops the invocation with :class:`RequiredDataUnavailable` (HTTP 412).

Then, before the engine sees anything (issue 11): resources that do not name the patient in context are
dropped and counted (:mod:`service.fhir.identity`), and each ``medicationReference`` is resolved
(:mod:`service.fhir.medications`), reading the Medications no Bundle of the request held from the FHIR
server within what is left of the same deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from service import metrics
from service.cdshooks.models import HookRequest
from service.cdshooks.prefetch import UNSATISFIED, Prefetched, resolve_prefetch
from service.errors import FhirAccessError, RequiredDataUnavailable
from service.fhir.client import FhirClient, FhirServer
from service.fhir.identity import PatientIdentity
from service.fhir.medications import MedicationIndex, resolve, to_read
from service.fhir.policy import fhir_server_for
from service.fhir.query import FhirQuery, TemplateError, render
from service.knowledge.service_spec import PrefetchSpec, ServiceSpec
from service.record import PatientRecord, Resource
from service.settings import Settings

log = structlog.get_logger("service.gather")

Job = Callable[[], Awaitable[list[Resource]]]
MEDICATION_KEYS_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})
MAX_MEDICATION_READS = 50  # beyond this, the references' display text is used: the deadline is shared


def _is_context_patient(found: list[Resource], patient_id: str) -> bool:
    """A ``patient`` answer is usable only when every Patient in it is the one in context."""
    return all(r.get("id") == patient_id for r in found if r.get("resourceType") == "Patient")


def _job(request: HookRequest, item: PrefetchSpec, got: Prefetched, client: FhirClient, server: FhirServer) -> Job:
    async def fetch_template() -> list[Resource]:
        try:
            query = render(item.query, request.context)
        except TemplateError as exc:
            raise FhirAccessError(str(exc)) from exc
        found = await client.fetch(server, query)
        if item.resource_type == "Patient" and not _is_context_patient(found, request.context.patient_id):
            raise FhirAccessError("the FHIR server answered another patient")
        return found

    async def run() -> list[Resource]:
        if got.resources is not None and got.next_url is not None:
            try:  # the client paginated its prefetch: read the remaining pages
                rest = await client.pages(server, got.next_url, item.resource_type)
                return [*got.resources, *rest]
            except FhirAccessError:
                pass  # e.g. a next link to another host: ask our way instead
        return await fetch_template()

    return run


async def _run_all(
    jobs: dict[str, Job], deadline: float, types: dict[str, str]
) -> tuple[dict[str, list[Resource]], dict[str, str]]:
    """Run every job concurrently; whatever has not finished at the deadline is cancelled and failed."""
    results: dict[str, list[Resource]] = {}
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


def _resolve_keys(
    prefetch: dict[str, object] | None, spec: ServiceSpec, patient_id: str, index: MedicationIndex
) -> tuple[dict[str, list[Resource]], dict[str, Prefetched], PatientIdentity]:
    """Keys the prefetch satisfies, the others (with what the prefetch gave, e.g. a first page), and who
    the patient is: Medications and fullUrl'd Patients of every prefetch Bundle go to ``index`` and the
    identity's aliases (one pass over each Bundle; values under keys we did not ask for are read too)."""
    resources: dict[str, list[Resource]] = {}
    pending: dict[str, Prefetched] = {}
    patients: list[tuple[str, Resource]] = []
    for key, item in spec.prefetch.items():
        got = resolve_prefetch(prefetch, key, item.resource_type)
        for full_url, medication in got.medications:
            index.add(medication, full_url)
        patients += got.patients
        if item.resource_type == "Patient" and got.resources and not _is_context_patient(got.resources, patient_id):
            got = UNSATISFIED  # another patient's record sent for this chart: fetch the right one
        if got.complete and got.resources is not None:
            resources[key] = got.resources
        else:
            pending[key] = got
    others = [v for k, v in (prefetch or {}).items() if k not in spec.prefetch]
    if others:
        index.add_bundles(others)
    identity = PatientIdentity.from_patients(patient_id, patients)
    if others:
        identity = PatientIdentity(patient_id, identity.aliases | PatientIdentity.of(patient_id, others).aliases)
    return resources, pending, identity


def _split_medications(items: list[Resource], resource_type: str, index: MedicationIndex) -> list[Resource]:
    """The key's own resources; Medications a search included go to ``index``."""
    mine = []
    for resource in items:
        if resource.get("resourceType") == "Medication" and resource_type != "Medication":
            index.add(resource)
        else:
            mine.append(resource)
    return mine


def _required_check(spec: ServiceSpec, failures: dict[str, str], hook_instance: str) -> None:
    for key, reason in sorted(failures.items()):
        log.warning("fhir.unavailable", hook_instance=hook_instance, prefetch_key=key, reason=reason)
    missing_required = sorted(k for k in failures if spec.prefetch[k].required)
    if missing_required:
        raise RequiredDataUnavailable(
            "Required data could not be obtained: "
            + "; ".join(f"{k} ({spec.prefetch[k].resource_type}): {failures[k]}" for k in missing_required)
        )


def _own_resources(
    identity: PatientIdentity, resources: dict[str, list[Resource]]
) -> dict[str, list[Resource]]:
    """Only the context patient's resources; the rest counted, with counts only in the log."""
    kept, dropped = identity.keep(resources)
    if dropped:
        metrics.drop_foreign(dropped)
        log.warning(
            "patient.foreign_resources_dropped",
            count=sum(dropped.values()),
            by_type={f"{kind}:{reason}": n for (kind, reason), n in sorted(dropped.items())},
        )
    return kept


def _with_medications(
    spec: ServiceSpec, resources: dict[str, list[Resource]], index: MedicationIndex
) -> dict[str, list[Resource]]:
    return {
        key: [resolve(r, index) for r in items] if spec.prefetch[key].resource_type in MEDICATION_KEYS_TYPES else items
        for key, items in resources.items()
    }


def _medication_users(spec: ServiceSpec, resources: dict[str, list[Resource]]) -> list[Resource]:
    users = [items for key, items in resources.items() if spec.prefetch[key].resource_type in MEDICATION_KEYS_TYPES]
    return [r for items in users for r in items]


def record_from_prefetch(
    prefetch: dict[str, object] | None, patient_id: str, spec: ServiceSpec, hook_instance: str = "-"
) -> PatientRecord:
    """What :func:`gather` makes of a prefetch when there is no FHIR server to ask (fixtures, the CLI).

    Raises:
        RequiredDataUnavailable: a required key is not satisfied by the prefetch.
    """
    index = MedicationIndex()
    resources, pending, identity = _resolve_keys(prefetch, spec, patient_id, index)
    failures = dict.fromkeys(pending, "not in the prefetch")
    _required_check(spec, failures, hook_instance)
    own = _own_resources(identity, resources)
    return PatientRecord(patient_id, _with_medications(spec, own, index), frozenset(failures))


async def _read_medications(
    client: FhirClient, server: FhirServer, ids: list[str], deadline: float, index: MedicationIndex
) -> None:
    """One read of each ``Medication/{id}``, together, under ``deadline``; failures leave the display text."""

    def read(medication_id: str) -> Job:
        async def run() -> list[Resource]:
            return await client.fetch(server, FhirQuery("Medication", id=medication_id))

        return run

    jobs = {f"Medication/{i}": read(i) for i in ids[:MAX_MEDICATION_READS]}
    found, failures = await _run_all(jobs, deadline, dict.fromkeys(jobs, "Medication"))
    for items in found.values():
        for medication in items:
            index.add(medication)
    if failures or len(ids) > MAX_MEDICATION_READS:
        log.info("fhir.medication_unresolved", count=len(failures) + max(0, len(ids) - MAX_MEDICATION_READS))


async def gather(
    request: HookRequest, spec: ServiceSpec, settings: Settings, client: FhirClient | None
) -> PatientRecord:
    """Resolve every prefetch key of ``spec`` for ``request``.

    Raises:
        RequiredDataUnavailable: a required key was neither prefetched nor fetchable; the message
            names the keys, their resource types and why (never patient data or the token).
    """
    started = time.perf_counter()
    patient_id = request.context.patient_id
    index = MedicationIndex()
    resources, pending, identity = _resolve_keys(request.prefetch, spec, patient_id, index)
    failures: dict[str, str] = {}
    server: FhirServer | None = None
    if pending:
        try:
            if client is None:
                raise FhirAccessError("no FHIR client is configured")
            server = fhir_server_for(request, settings)
        except FhirAccessError as exc:
            failures = dict.fromkeys(pending, exc.message)
        else:
            jobs = {k: _job(request, spec.prefetch[k], got, client, server) for k, got in pending.items()}
            types = {k: spec.prefetch[k].resource_type for k in pending}
            fetched, failures = await _run_all(jobs, settings.fhir_deadline_seconds, types)
            for key, items in fetched.items():
                resources[key] = _split_medications(items, types[key], index)
    _required_check(spec, failures, request.hook_instance)
    own = _own_resources(identity, resources)
    wanted = to_read(_medication_users(spec, own), index, request.fhir_server)
    if wanted and client is not None:
        try:
            server = server or fhir_server_for(request, settings)
        except FhirAccessError:
            server = None
        left = settings.fhir_deadline_seconds - (time.perf_counter() - started)
        if server is not None and left > 0:
            await _read_medications(client, server, wanted, left, index)
    return PatientRecord(patient_id, _with_medications(spec, own, index), frozenset(failures))
