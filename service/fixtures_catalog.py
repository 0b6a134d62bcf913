"""The fixture cases in ``fixtures/cases/<name>/`` (bundle.json, case.json, expected.json) as objects.

Other engineers build on this format: see ``fixtures/README.md``. Also home of the helpers that turn a
list of raw resources into what an EHR would send (prefetch) or what data gathering hands the engine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from service.commands.bundle_prefetch import included_medications, searchset
from service.date_shift import shift_dates
from service.gather import record_from_prefetch
from service.knowledge.service_spec import ServiceSpec
from service.paths import CHECKOUT_ROOT, cases_dir
from service.record import PatientRecord

REPO_ROOT = CHECKOUT_ROOT
CASES_DIR = cases_dir()


def shared_dir() -> Path:
    """``/work/shared`` or its equivalent: ``<repo root>/../shared`` unless BACKPAIN_CDS_SHARED_DIR is set."""
    env = os.environ.get("BACKPAIN_CDS_SHARED_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def observation_codes(spec: ServiceSpec) -> frozenset[str] | None:
    """``system|code`` tokens of the observations prefetch template (None when it has no code filter)."""
    prefetch = spec.prefetch.get("observations")
    if prefetch is None or "?" not in prefetch.query:
        return None
    codes = parse_qs(prefetch.query.split("?", 1)[1]).get("code")
    return frozenset(tok for value in codes for tok in value.split(",")) if codes else None


def _wanted(resource: Mapping[str, Any], codes: frozenset[str] | None) -> bool:
    if resource.get("resourceType") != "Observation" or codes is None:
        return True
    codings = (resource.get("code") or {}).get("coding") or []
    return any(f"{c.get('system')}|{c.get('code')}" in codes for c in codings)


def group_resources(
    resources: Iterable[Mapping[str, Any]], spec: ServiceSpec
) -> dict[str, list[Mapping[str, Any]]]:
    """Resources per prefetch key by resourceType; Observations filtered to the template's codes."""
    by_type = {p.resource_type: key for key, p in spec.prefetch.items()}
    codes = observation_codes(spec)
    out: dict[str, list[Mapping[str, Any]]] = {key: [] for key in spec.prefetch}
    for resource in resources:
        key = by_type.get(str(resource.get("resourceType")))
        if key is not None and _wanted(resource, codes):
            out[key].append(resource)
    return out


def record_from_resources(
    patient_id: str, resources: Iterable[Mapping[str, Any]], spec: ServiceSpec
) -> PatientRecord:
    return PatientRecord(patient_id=patient_id, resources=group_resources(resources, spec))


@dataclass(frozen=True)
class Case:
    name: str
    path: Path

    @cached_property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "case.json").read_text(encoding="utf-8"))
        return data

    @cached_property
    def bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "bundle.json").read_text(encoding="utf-8"))
        return data

    @property
    def as_of(self) -> datetime:
        return datetime.fromisoformat(self.meta["asOf"].replace("Z", "+00:00")).astimezone(UTC)

    @property
    def rule(self) -> str:
        return str(self.meta["rule"])

    @property
    def expect(self) -> str:
        return str(self.meta["expect"])

    @property
    def tier(self) -> str | None:
        return self.meta.get("tier")

    @property
    def config_overrides(self) -> dict[str, Any] | None:
        """Optional ``overrides`` of case.json: top-level config.json keys (e.g. a site switching C5 on)."""
        return self.meta.get("overrides")

    @property
    def hook_instance(self) -> str:
        return "golden-" + self.name

    def resources(self) -> list[dict[str, Any]]:
        return [entry["resource"] for entry in self.bundle.get("entry", [])]

    def resources_as_of(self, today: date) -> list[dict[str, Any]]:
        """The resources with every date moved so that the case's frozen "today" falls on ``today``."""
        days = (today - self.as_of.date()).days
        shifted: list[dict[str, Any]] = shift_dates(self.resources(), days)
        return shifted

    @property
    def patient_id(self) -> str:
        """The chart's patient: the first Patient of bundle.json (a wrong-patient case carries a second)."""
        return next(str(r["id"]) for r in self.resources() if r["resourceType"] == "Patient")

    def record(self, spec: ServiceSpec) -> PatientRecord:
        """What data gathering makes of :meth:`prefetch` (identity filter and medication references included)."""
        return record_from_prefetch(self.prefetch(spec), self.patient_id, spec, self.hook_instance)

    @property
    def prefetch_path(self) -> Path:
        return self.path / "prefetch.json"

    def prefetch(self, spec: ServiceSpec) -> dict[str, Any]:
        """The case's ``prefetch.json`` (an EHR's own shapes) when it has one, else what a complete EHR
        would send: the Patient, then a searchset Bundle per search key, Medications included on request."""
        if self.prefetch_path.exists():
            sent: dict[str, Any] = json.loads(self.prefetch_path.read_text(encoding="utf-8"))
            return sent
        resources = self.resources()
        grouped = group_resources(resources, spec)
        out: dict[str, Any] = {}
        for key, items in grouped.items():
            query = spec.prefetch[key].query
            if "?" not in query:
                out[key] = items[0] if items else None
            else:
                out[key] = searchset(items, included_medications(items, resources) if "_include=" in query else ())
        return out

    @property
    def expected_path(self) -> Path:
        return self.path / "expected.json"

    def expected(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.expected_path.read_text(encoding="utf-8"))
        return data


def list_cases(root: Path | None = None) -> list[Case]:
    base = root or CASES_DIR
    return [Case(p.name, p) for p in sorted(base.iterdir()) if p.is_dir()] if base.exists() else []
