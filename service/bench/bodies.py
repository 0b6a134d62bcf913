"""Deterministic request bodies: a small one (a fixture case as its EHR sent it), a typical prefetch
(a fixture case plus Synthea history) and a large one.

Prefetch Bundles look like a FHIR server's search results: ``urn:uuid:`` references of the Synthea
transaction Bundles are rewritten to ``Type/id``, every template key of ``cards/service.json`` is present.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from service.bench.prefetch import group_by_key, trim_round_robin
from service.date_shift import shift_dates
from service.fixtures_catalog import list_cases, shared_dir
from service.knowledge.service_spec import ServiceSpec

HOOK_INSTANCE = "6f1c2b8e-8d4a-4c53-9a53-0be4c4000001"
TYPICAL_RESOURCES = 80
LARGE_RESOURCES = 1000
# ~215 kB: the large body's patient cut to its newest resources, the middle size issue 17 sets a target for.
MEDIUM_RESOURCES = 193
TYPICAL_PATIENT = "Ali_Herman"
TYPICAL_CASE = "C1--in--leg-weakness-with-breast-cancer"
# ~6 kB: an Epic-like prefetch (medicationReference with the Medications included, an informational
# OperationOutcome in every searchset) that gives a C3R card: the size of most charts' requests.
SMALL_CASE = "F8--in--epic-medication-references-and-outcome-entries"
Resource = dict[str, Any]


@dataclass
class Body:
    """One request body and where it came from (written into the results)."""

    name: str
    patient_id: str
    source: str
    counts: dict[str, int]
    request: dict[str, Any] = field(repr=False)
    resources: list[Resource] = field(repr=False, default_factory=list)

    @property
    def payload(self) -> bytes:
        return orjson.dumps(self.request)

    def describe(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "source": self.source, "bytes": len(self.payload),
                "resources": sum(self.counts.values()), "counts": self.counts}


def synthea_files() -> list[Path]:
    files = sorted((shared_dir() / "data" / "synthea-r4").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no Synthea bundles under {shared_dir() / 'data' / 'synthea-r4'}")
    return files


def _rewrite(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: refs.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, refs)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, refs) for v in value]
    return value


def raw_resources(path: Path) -> list[Resource]:
    bundle = orjson.loads(path.read_bytes())
    return [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]


def load_resources(path: Path) -> list[Resource]:
    """The resources of a Synthea transaction Bundle with references rewritten to ``Type/id``."""
    entries = raw_resources(path)
    refs = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries
            if "fullUrl" in e and "id" in e["resource"]}
    return [_rewrite(e["resource"], refs) for e in entries]


def hook_request(patient_id: str, prefetch: dict[str, Any] | None, fhir_server: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": HOOK_INSTANCE,
                            "context": {"userId": "Practitioner/bench", "patientId": patient_id}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def searchset(resources: Iterable[Resource]) -> dict[str, Any]:
    items = list(resources)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(items),
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in items]}


def build_body(name: str, path: Path, spec: ServiceSpec, *, code_filter: bool, limit: int) -> Body:
    groups = trim_round_robin(group_by_key(load_resources(path), spec, code_filter=code_filter), limit)
    patient = groups.pop("patient")[0]
    prefetch: dict[str, Any] = {"patient": patient}
    prefetch.update({key: searchset(items) for key, items in groups.items()})
    counts = {"patient": 1, **{key: len(items) for key, items in groups.items()}}
    source = f"synthea-r4/{path.name}, " + ("observations by template codes" if code_filter else "all observations")
    resources = [patient, *(r for items in groups.values() for r in items)]
    return Body(name, patient["id"], source, counts, hook_request(patient["id"], prefetch), resources)


def _history(patient_id: str, spec: ServiceSpec, limit: int) -> dict[str, list[Resource]]:
    """Synthea background for ``patient_id``: template-filtered, re-pointed, the newest ``limit`` kept."""
    path = next(p for p in synthea_files() if p.name.startswith(TYPICAL_PATIENT))
    resources = load_resources(path)
    synthea_patient = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    moved = _rewrite(resources, {f"Patient/{synthea_patient}": f"Patient/{patient_id}"})
    groups = group_by_key(moved, spec, code_filter=True)
    groups.pop("patient")
    return trim_round_robin(groups, limit)


def typical_body(spec: ServiceSpec, today: date | None = None) -> Body:
    """A typical prefetch: fixture case TYPICAL_CASE (a C1 card) at ``today`` plus Synthea background history.

    The case's dates are shifted so that its frozen "today" is ``today`` (default: UTC today, the clock the
    benchmarked service runs at); the Synthea patient's history is re-pointed at the case's patient and
    trimmed so the whole body holds TYPICAL_RESOURCES resources. Deterministic for a given ``today``.
    """
    case = next(c for c in list_cases() if c.name == TYPICAL_CASE)
    own = group_by_key(case.resources_as_of(today or datetime.now(UTC).date()), spec, code_filter=True)
    patient = own.pop("patient")[0]
    history = _history(case.patient_id, spec, TYPICAL_RESOURCES - 1 - sum(map(len, own.values())))
    groups = {key: [*history[key], *own[key]] for key in own}
    prefetch: dict[str, Any] = {"patient": patient}
    prefetch.update({key: searchset(items) for key, items in groups.items()})
    counts = {"patient": 1, **{key: len(items) for key, items in groups.items()}}
    source = f"fixture case {TYPICAL_CASE} + synthea-r4/{TYPICAL_PATIENT} history, observations by template codes"
    resources = [patient, *(r for items in groups.values() for r in items)]
    return Body("typical", case.patient_id, source, counts, hook_request(case.patient_id, prefetch), resources)


def small_body(spec: ServiceSpec, today: date | None = None) -> Body:
    """Fixture case SMALL_CASE's own prefetch (its EHR's shapes), dates shifted so its "today" is ``today``.

    The case predates the clinicalNotes template: a key it lacks is sent as an empty searchset, as an EHR
    answering today's discovery would, so the service neither logs nor reports that key as unavailable.
    """
    case = next(c for c in list_cases() if c.name == SMALL_CASE)
    days = ((today or datetime.now(UTC).date()) - case.as_of.date()).days
    prefetch: dict[str, Any] = shift_dates(case.prefetch(spec), days)
    prefetch.update({key: searchset([]) for key in spec.prefetch if key not in prefetch})
    resources = [prefetch["patient"], *(e["resource"] for key, value in prefetch.items() if key != "patient"
                                       and isinstance(value, dict) for e in value.get("entry", []))]
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    return Body("small", case.patient_id, f"fixture case {SMALL_CASE} (its prefetch.json)", counts,
                hook_request(case.patient_id, prefetch), resources)


def _large_patient(spec: ServiceSpec) -> Path:
    """The Synthea patient whose prefetch (every Observation) comes closest to LARGE_RESOURCES resources."""
    def size(path: Path) -> int:
        groups = group_by_key([e["resource"] for e in raw_resources(path)], spec, code_filter=False)
        return sum(len(items) for items in groups.values())

    return min(synthea_files(), key=lambda p: (abs(size(p) - LARGE_RESOURCES), p.name))


def large_body(spec: ServiceSpec) -> Body:
    """The patient whose prefetch comes closest to 1,000 resources.

    With the observations template's codes no Synthea patient gets past ~200 resources, so the large body
    takes every Observation, as an EHR that ignores the code filter would.
    """
    return build_body("large", _large_patient(spec), spec, code_filter=False, limit=LARGE_RESOURCES)


def medium_body(spec: ServiceSpec) -> Body:
    """The large body's patient trimmed to its newest MEDIUM_RESOURCES resources (~215 kB)."""
    return build_body("medium", _large_patient(spec), spec, code_filter=False, limit=MEDIUM_RESOURCES)
