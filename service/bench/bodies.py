"""Deterministic request bodies: a typical prefetch and a large one, built from the Synthea patients.

Prefetch Bundles look like a FHIR server's search results: ``urn:uuid:`` references of the Synthea
transaction Bundles are rewritten to ``Type/id``, every template key of ``cards/service.json`` is present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from service.bench.prefetch import group_by_key, trim_round_robin
from service.knowledge.service_spec import ServiceSpec
from service.settings import REPO_ROOT

HOOK_INSTANCE = "6f1c2b8e-8d4a-4c53-9a53-0be4c4000001"
TYPICAL_RESOURCES = 80
LARGE_RESOURCES = 1000
TYPICAL_PATIENT = "Ali_Herman"
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


def shared_dir() -> Path:
    """``BACKPAIN_CDS_SHARED_DIR`` or ``<repo root>/../shared``."""
    return Path(os.environ.get("BACKPAIN_CDS_SHARED_DIR") or REPO_ROOT.parent / "shared")


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


def typical_body(spec: ServiceSpec) -> Body:
    """A typical prefetch: one Synthea patient trimmed to about 80 resources.

    Switch point for the fixture cases (``service.fixtures_catalog``) once they are on main.
    """
    path = next(p for p in synthea_files() if p.name.startswith(TYPICAL_PATIENT))
    return build_body("typical", path, spec, code_filter=True, limit=TYPICAL_RESOURCES)


def large_body(spec: ServiceSpec) -> Body:
    """The patient whose prefetch comes closest to 1,000 resources.

    With the observations template's codes no Synthea patient gets past ~200 resources, so the large body
    takes every Observation, as an EHR that ignores the code filter would.
    """
    def size(path: Path) -> int:
        groups = group_by_key([e["resource"] for e in raw_resources(path)], spec, code_filter=False)
        return sum(len(items) for items in groups.values())

    best = min(synthea_files(), key=lambda p: (abs(size(p) - LARGE_RESOURCES), p.name))
    return build_body("large", best, spec, code_filter=False, limit=LARGE_RESOURCES)
