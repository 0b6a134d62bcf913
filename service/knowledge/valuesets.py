"""Value sets compiled at load time into frozensets of (system, code) plus compiled regex filters.

Matching is on (system, code) only (CLINICAL_RULES.md §2.1.5). ICD-10 codes are normalised: upper case,
dotted form (``M5450`` -> ``M54.50``), and the WHO ``icd-10`` system URI and the ICD-10-CM OID URI
(``urn:oid:2.16.840.1.113883.6.90``, sent by some EHRs) are read as ICD-10-CM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.errors import KnowledgeError

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_SYSTEM_ALIASES = {
    "http://hl7.org/fhir/sid/icd-10": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,  # ICD-10-CM by its OID (CLINICAL_RULES.md item 29 d)
    "http://snomed.info/sct": "http://snomed.info/sct",
    "http://loinc.org": "http://loinc.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
}

Key = tuple[str, str]
_VERDICT_LIMIT = 4096


def normalise(system: str | None, code: str | None) -> Key | None:
    """The (system, code) key used for matching, or None when either part is missing."""
    if not system or not code:
        return None
    system = _SYSTEM_ALIASES.get(system.strip(), system.strip())
    code = code.strip()
    if system == ICD10CM:
        bare = code.upper().replace(".", "").replace(" ", "")
        code = f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare
    return system, code


# Facts read the same vocabulary over and over: memoised, a coding's key costs a dict look-up, not string work.
normalise_cached = lru_cache(maxsize=8192)(normalise)


@dataclass(frozen=True)
class CompiledValueSet:
    """One ValueSet: its expansion as a frozenset plus the include/exclude regex filters of ``compose``."""

    url: str
    id: str
    title: str
    codes: frozenset[Key]
    displays: dict[Key, str] = field(hash=False, compare=False)
    include: tuple[tuple[str, re.Pattern[str]], ...] = ()
    exclude: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # Regex verdicts by key: the rules ask about the same codes ~30 times a request, and codes recur.
    _verdicts: dict[Key, bool] = field(default_factory=dict, hash=False, compare=False, repr=False)

    def contains(self, key: Key) -> bool:
        return key in self.codes or (bool(self.include) and self._filtered(key))

    def _filtered(self, key: Key) -> bool:
        verdict = self._verdicts.get(key)
        if verdict is None:
            system, code = key
            verdict = any(s == system and p.search(code) for s, p in self.include) and not any(
                s == system and p.search(code) for s, p in self.exclude
            )
            if len(self._verdicts) < _VERDICT_LIMIT:
                self._verdicts[key] = verdict
        return verdict

    def first_match(self, keys: Iterable[Key]) -> Key | None:
        # The rules call this ~200 times a request: the plain-expansion test is inlined, no call per key.
        codes, include = self.codes, self.include
        for key in keys:
            if key in codes or (include and self._filtered(key)):
                return key
        return None


@dataclass(frozen=True)
class KnownCodes:
    """Whether a code is in any value set of the service: one union of every expansion, then the few sets
    with regex filters (the cancer keyword fallback asks this of each Condition it reads, item 29 b)."""

    codes: frozenset[Key]
    filtered: tuple[CompiledValueSet, ...]

    def contains(self, key: Key) -> bool:
        return key in self.codes or any(vs._filtered(key) for vs in self.filtered)


def known_codes(value_sets: Iterable[CompiledValueSet]) -> KnownCodes:
    """The :class:`KnownCodes` of ``value_sets`` (built once, at knowledge load)."""
    sets = tuple(value_sets)
    return KnownCodes(frozenset().union(*(vs.codes for vs in sets)), tuple(vs for vs in sets if vs.include))


def _filters(parts: list[dict[str, Any]], where: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for part in parts:
        system = part.get("system")
        for flt in part.get("filter", []):
            if system is None:
                raise KnowledgeError(f"{where}: a filter needs a system")
            try:
                out.append((ICD10CM if "icd-10" in system else system, re.compile(flt["value"])))
            except re.error as exc:
                raise KnowledgeError(f"{where}: bad regex {flt['value']!r}: {exc}") from exc
    return tuple(out)


def compile_valueset(data: dict[str, Any], where: str) -> CompiledValueSet:
    codes: dict[Key, str] = {}
    for entry in data["expansion"]["contains"]:
        key = normalise(entry["system"], entry["code"])
        if key is None:
            raise KnowledgeError(f"{where}: expansion entry without system or code")
        codes[key] = entry["display"]
    compose = data.get("compose", {})
    return CompiledValueSet(
        url=data["url"],
        id=data["id"],
        title=data["title"],
        codes=frozenset(codes),
        displays=codes,
        include=_filters(compose.get("include", []), where),
        exclude=_filters(compose.get("exclude", []), where),
    )


def load_valuesets(folder: Path, validate: Any) -> dict[str, CompiledValueSet]:
    """Every ``*.json`` of ``folder`` (validated with ``validate(path)``), keyed by canonical URL."""
    out: dict[str, CompiledValueSet] = {}
    for path in sorted(folder.glob("*.json")):
        vs = compile_valueset(validate(path), str(path))
        if vs.url in out:
            raise KnowledgeError(f"{path}: duplicate ValueSet url {vs.url}")
        out[vs.url] = vs
    if not out:
        raise KnowledgeError(f"no value sets in {folder}")
    return out
