"""Drops, before validation, resources whose codes no rule reads: most of a real prefetch is such history.

Validating a resource and turning it into a fact costs far more than looking at its codings, and a record
with years of vital signs or billing procedures is mostly resources no rule can use (810 of the large
benchmark body's Observations). Only types the rules read by code alone are filtered, each against the
value sets the rules read for that type (kept in step with ``service/rules``; the filter-off test compares
both paths on every fixture case and Synthea patient). Conditions and medications are never filtered: the
rules also read their text. A resource whose codings cannot be read cheaply is kept, so validation still
skips and counts it if it is unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.knowledge.config import Role
from service.knowledge.valuesets import CompiledValueSet, Key, normalise

_MRI, _PT, _EXPLAINED = Role.SPINE_MRI, Role.PHYSICAL_THERAPY, Role.WEIGHT_LOSS_EXPLAINED

# resourceType -> value sets its codes are matched against, and the fields its codes come from.
CODE_ROLES: dict[str, tuple[Role, ...]] = {
    "Observation": (Role.SYMPTOM_OBSERVATION, Role.BODY_WEIGHT),
    "Procedure": (_MRI, _PT, _EXPLAINED),
    "ServiceRequest": (_MRI, _PT, _EXPLAINED),
    "CarePlan": (_PT, _EXPLAINED),
    "DiagnosticReport": (_MRI,),
    "ImagingStudy": (_MRI,),
}
_BY_CODE = frozenset({"Observation", "Procedure", "ServiceRequest", "DiagnosticReport"})
_CACHE_LIMIT = 4096
# Per class, whether it is a Mapping: a handful of classes (dict and the decoded resource types).
_IS_MAPPING: dict[type, bool] = {dict: True}


def _concepts(resource: Mapping[str, Any], kind: str) -> list[Any] | None:
    """CarePlan and ImagingStudy concepts the fact reader takes codes from; None for an unexpected shape."""
    if kind == "CarePlan":
        category, activity = resource.get("category", []), resource.get("activity", [])
        if not isinstance(category, list) or not isinstance(activity, list):
            return None
        concepts = list(category)
        for item in activity:
            detail = item.get("detail") if isinstance(item, dict) else False
            if detail is not None and not isinstance(detail, dict):
                return None
            concepts.append(detail.get("code") if detail else None)
        return concepts
    codes = resource.get("procedureCode", [])
    return codes if isinstance(codes, list) else None


class Relevance:
    """``keep(resource)``: False only for a well-formed resource none of whose codes a rule reads."""

    def __init__(self, by_role: Mapping[Role, CompiledValueSet], spine_mri: frozenset[Key] = frozenset()) -> None:
        """``spine_mri``: spine MRI codes the rules read beside the spineMri value set (spine-imaging.json's,
        e.g. CPT), kept wherever that value set is read."""
        self._sets: dict[str, tuple[CompiledValueSet, ...]] = {
            kind: tuple(by_role[role] for role in roles) for kind, roles in CODE_ROLES.items()
        }
        self._extra: dict[str, frozenset[Key]] = {
            kind: spine_mri for kind, roles in CODE_ROLES.items() if _MRI in roles
        }
        self._verdicts: dict[tuple[str, str, str], bool] = {}

    def _decide(self, kind: str, system: str, code: str) -> bool:
        key = normalise(system, code)
        verdict = key is not None and (
            any(vs.contains(key) for vs in self._sets[kind]) or key in self._extra.get(kind, frozenset())
        )
        if len(self._verdicts) < _CACHE_LIMIT:
            self._verdicts[(kind, system, code)] = verdict
        return verdict

    def keep(self, resource: Mapping[str, Any] | Any) -> bool:
        cls = type(resource)
        is_mapping = _IS_MAPPING.get(cls)
        if is_mapping is None:  # an ABC isinstance that fails costs ~0.2 µs; decoded resources always fail it
            is_mapping = _IS_MAPPING[cls] = isinstance(resource, Mapping)
        if not is_mapping:
            return self._keep_decoded(resource)
        kind = resource.get("resourceType")
        if type(kind) is not str or kind not in self._sets:
            return True
        concepts = (resource.get("code"),) if kind in _BY_CODE else _concepts(resource, kind)
        if concepts is None:
            return True
        verdicts = self._verdicts
        for concept in concepts:
            if concept is None:
                continue
            coding = concept.get("coding", ()) if type(concept) is dict else None
            if type(coding) is not list and coding != ():
                return True
            for c in coding:
                if type(c) is not dict:
                    return True
                system, code = c.get("system"), c.get("code")
                if (system is not None and type(system) is not str) or (code is not None and type(code) is not str):
                    return True
                if system and code:
                    verdict = verdicts.get((kind, system, code))
                    if verdict or (verdict is None and self._decide(kind, system, code)):
                        return True
        return False

    def _keep_decoded(self, resource: Any) -> bool:
        """:meth:`keep` of a resource decoded into typed fields (service.fhir.decode; its class is its
        resourceType): well-formed by construction, so only its codes decide."""
        kind = type(resource).__name__
        if kind not in self._sets:
            return True
        if kind in _BY_CODE:
            concepts: Any = (resource.code,)
        elif kind == "CarePlan":
            concepts = [*resource.category, *(a.detail.code if a.detail else None for a in resource.activity)]
        else:
            concepts = resource.procedureCode
        verdicts = self._verdicts
        for concept in concepts:
            for c in concept.coding if concept is not None else ():
                system, code = c.system, c.code
                if system and code:
                    verdict = verdicts.get((kind, system, code))
                    if verdict or (verdict is None and self._decide(kind, system, code)):
                        return True
        return False
