"""From prefetch values and fetched resources to the :class:`PatientRecord` the engine reads (issue 11).

The parts of data gathering that need no network: which keys the prefetch satisfies (OperationOutcome rule,
a ``patient`` of another id is unsatisfied), the patient-identity filter with its counter and one log line,
and writing each resolved ``medicationReference`` into the resource. :func:`record_from_prefetch` is the
whole path for a prefetch without a FHIR server (fixture harness, ``evaluate --bundle``);
:func:`service.gather.gather` adds the fetching in between.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from service import metrics
from service.cdshooks.prefetch import UNSATISFIED, Prefetched, resolve_prefetch
from service.errors import RequiredDataUnavailable
from service.fhir.decode import Value, kind_of
from service.fhir.identity import PatientIdentity, id_of
from service.fhir.medications import MedicationIndex, resolve
from service.knowledge.service_spec import ServiceSpec
from service.record import Item, PatientRecord

log = structlog.get_logger("service.gather")
MEDICATION_KEYS_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})


def is_context_patient(found: Sequence[Item], patient_id: str) -> bool:
    """A ``patient`` answer is usable only when every Patient in it is the one in context."""
    return all(id_of(r) == patient_id for r in found if kind_of(r) == "Patient")


def resolve_keys(
    prefetch: dict[str, object] | None, spec: ServiceSpec, patient_id: str, index: MedicationIndex
) -> tuple[dict[str, list[Item]], dict[str, Prefetched], PatientIdentity]:
    """Keys the prefetch satisfies, the others (with what the prefetch gave, e.g. a first page), and who
    the patient is: Medications and fullUrl'd Patients of every prefetch Bundle go to ``index`` and the
    identity's aliases (one pass over each Bundle; values under keys we did not ask for are read too)."""
    resources: dict[str, list[Item]] = {}
    pending: dict[str, Prefetched] = {}
    patients: list[tuple[str, Item]] = []
    for key, item in spec.prefetch.items():
        got = resolve_prefetch(prefetch, key, item.resource_type)
        for full_url, medication in got.medications:
            index.add(medication, full_url)
        patients += got.patients
        if item.resource_type == "Patient" and got.resources and not is_context_patient(got.resources, patient_id):
            got = UNSATISFIED  # another patient's record sent for this chart: fetch the right one
        if got.complete and got.resources is not None:
            resources[key] = got.resources
        else:
            pending[key] = got
    others = [v.builtin() if isinstance(v, Value) else v for k, v in (prefetch or {}).items() if k not in spec.prefetch]
    if others:
        index.add_bundles(others)
    identity = PatientIdentity.from_patients(patient_id, patients)
    if others:
        identity = PatientIdentity(patient_id, identity.aliases | PatientIdentity.of(patient_id, others).aliases)
    return resources, pending, identity


def split_medications(items: Sequence[Item], resource_type: str, index: MedicationIndex) -> list[Item]:
    """The key's own resources; Medications a search included go to ``index``."""
    mine = []
    for resource in items:
        if kind_of(resource) == "Medication" and resource_type != "Medication":
            index.add(resource)
        else:
            mine.append(resource)
    return mine


def required_check(spec: ServiceSpec, failures: dict[str, str], hook_instance: str) -> None:
    for key, reason in sorted(failures.items()):
        log.warning("fhir.unavailable", hook_instance=hook_instance, prefetch_key=key, reason=reason)
    missing_required = sorted(k for k in failures if spec.prefetch[k].required)
    if missing_required:
        raise RequiredDataUnavailable(
            "Required data could not be obtained: "
            + "; ".join(f"{k} ({spec.prefetch[k].resource_type}): {failures[k]}" for k in missing_required)
        )


def own_resources(identity: PatientIdentity, resources: dict[str, list[Item]]) -> dict[str, list[Item]]:
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


def with_medications(
    spec: ServiceSpec, resources: dict[str, list[Item]], index: MedicationIndex
) -> dict[str, list[Item]]:
    return {
        key: [resolve(r, index) for r in items] if spec.prefetch[key].resource_type in MEDICATION_KEYS_TYPES else items
        for key, items in resources.items()
    }


def medication_users(spec: ServiceSpec, resources: dict[str, list[Item]]) -> list[Item]:
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
    resources, pending, identity = resolve_keys(prefetch, spec, patient_id, index)
    failures = dict.fromkeys(pending, "not in the prefetch")
    required_check(spec, failures, hook_instance)
    own = own_resources(identity, resources)
    return PatientRecord(patient_id, with_medications(spec, own, index), frozenset(failures))
