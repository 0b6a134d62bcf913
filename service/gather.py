"""Turns a request into a :class:`PatientRecord`: prefetch first, then the FHIR server (spec E10, E11).

Every key the prefetch does not satisfy is fetched (:mod:`service.gather_fhir`: in parallel, or in one
FHIR batch when the server takes it), under one deadline for the whole
invocation (a hook answer that arrives after the EHR gave up helps nobody). Optional keys that still
fail are reported as ``unavailable`` so the card can say what was not evaluated; a required key that
fails stops the invocation with :class:`RequiredDataUnavailable` (HTTP 412).

Then, before the engine sees anything (issue 11): resources that do not name the patient in context are
dropped and counted (:mod:`service.fhir.identity`), and each ``medicationReference`` is resolved
(:mod:`service.fhir.medications`), reading the Medications no Bundle of the request held from the FHIR
server within what is left of the same deadline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import structlog

from service.cdshooks.models import HookRequest
from service.errors import FhirAccessError
from service.fhir.client import FhirClient, FhirServer
from service.fhir.decode import as_builtin
from service.fhir.medications import MedicationIndex, to_read
from service.fhir.policy import fhir_server_for
from service.fhir.query import FhirQuery
from service.gather_fhir import Job, fetch_pending, run_all
from service.knowledge.service_spec import ServiceSpec
from service.record import Item, PatientRecord, Resource
from service.record_assembly import (
    medication_users,
    own_resources,
    record_from_prefetch,
    required_check,
    resolve_keys,
    split_medications,
    with_medications,
)
from service.settings import Settings
from service.text.documents import wanted_binaries

__all__ = ["gather", "record_from_prefetch"]

log = structlog.get_logger("service.gather")

MAX_MEDICATION_READS = 50  # beyond this, the references' display text is used: the deadline is shared


def _binary_job(client: FhirClient, server: FhirServer, binary: str) -> Job:
    async def run() -> Sequence[Item]:
        found = await client.read(server, FhirQuery("Binary", id=binary.split("/", 1)[1]))
        return [] if found is None else [found]

    return run


async def _binaries(
    request: HookRequest,
    spec: ServiceSpec,
    settings: Settings,
    client: FhirClient | None,
    resources: dict[str, list[Item]],
    now: datetime,
    remaining: float,
) -> dict[str, Resource]:
    """The Binary behind each selected clinical note whose text is only at an attachment url (item 30).

    Read from fhirServer in parallel within what is left of the request's deadline; a note whose Binary
    cannot be read is listed as not evaluated by the card, never a failure of the request.
    """
    notes = [r for key, item in spec.prefetch.items() if item.resource_type == "DocumentReference"
             for r in resources.get(key, ())]
    if not notes or client is None or remaining <= 0:
        return {}
    try:
        server = fhir_server_for(request, settings)
    except FhirAccessError:
        return {}
    wanted = wanted_binaries([r if isinstance(r, Mapping) else as_builtin(r) for r in notes], now, server.base_url)
    if not wanted:
        return {}
    jobs = {url: _binary_job(client, server, binary) for url, binary in wanted.items()}
    fetched, failures = await run_all(jobs, remaining, dict.fromkeys(jobs, "Binary"))
    if failures:
        log.warning("fhir.binary_unavailable", hook_instance=request.hook_instance, count=len(failures))
    return {url: found[0] for url, found in fetched.items() if found and isinstance(found[0], Mapping)}


async def _read_medications(
    client: FhirClient, server: FhirServer, ids: list[str], deadline: float, index: MedicationIndex
) -> None:
    """One read of each ``Medication/{id}``, together, under ``deadline``; failures leave the display text."""

    def read(medication_id: str) -> Job:
        async def run() -> Sequence[Item]:
            return await client.fetch(server, FhirQuery("Medication", id=medication_id))

        return run

    jobs = {f"Medication/{i}": read(i) for i in ids[:MAX_MEDICATION_READS]}
    found, failures = await run_all(jobs, deadline, dict.fromkeys(jobs, "Medication"))
    for items in found.values():
        for medication in items:
            index.add(medication)
    if failures or len(ids) > MAX_MEDICATION_READS:
        log.info("fhir.medication_unresolved", count=len(failures) + max(0, len(ids) - MAX_MEDICATION_READS))


async def gather(
    request: HookRequest,
    spec: ServiceSpec,
    settings: Settings,
    client: FhirClient | None,
    now: datetime | None = None,
) -> PatientRecord:
    """Resolve every prefetch key of ``spec`` for ``request``, then the Binaries of its clinical notes.

    ``now`` (T) selects which clinical notes are worth reading (the 90 days before T).

    Raises:
        RequiredDataUnavailable: a required key was neither prefetched nor fetchable; the message
            names the keys, their resource types and why (never patient data or the token).
    """
    started = time.perf_counter()
    patient_id = request.context.patient_id
    index = MedicationIndex()
    resources, pending, identity = resolve_keys(request.prefetch, spec, patient_id, index)
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
            fetched, failures = await fetch_pending(request, spec, pending, client, server, settings)
            for key, items in fetched.items():
                resources[key] = split_medications(items, spec.prefetch[key].resource_type, index)
    required_check(spec, failures, request.hook_instance)
    own = own_resources(identity, resources)
    wanted = to_read(medication_users(spec, own), index, request.fhir_server)
    if wanted and client is not None:
        try:
            server = server or fhir_server_for(request, settings)
        except FhirAccessError:
            server = None
        left = settings.fhir_deadline_seconds - (time.perf_counter() - started)
        if server is not None and left > 0:
            await _read_medications(client, server, wanted, left, index)
    record = with_medications(spec, own, index)
    left = settings.fhir_deadline_seconds - (time.perf_counter() - started)
    binaries = await _binaries(request, spec, settings, client, record, now or datetime.now(UTC), left)
    return PatientRecord(patient_id, record, frozenset(failures), binaries)
