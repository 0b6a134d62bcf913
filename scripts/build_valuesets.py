"""Build ``cards/valuesets/*.json`` (FHIR R4 ValueSets with a committed expansion) from the shared data.

Run from anywhere: ``python scripts/build_valuesets.py``. It reads ``<repo>/../shared/data/valuesets``
(or ``$BACKPAIN_CDS_SHARED_DIR/data/valuesets``) and ``scripts/valueset_sources.json``.

* Curated sets: every code comes from CLINICAL_RULES.md with its source tag. When the source names a VSAC OID
  whose file is in the shared folder, the code must be in that file (the build fails otherwise) and the
  display is taken from the file.
* Derived sets: taken from one shared VSAC file (cited in ``compose.include.valueSet``), with the exclusions
  described in the set itself; codes added by hand carry their own source extension.

* TSV rows: a spec's ``tsv`` list selects rows of a curated shared TSV list (its README says every row was
  checked against its named source) by column regexes; each row keeps the TSV's own source tag.

Every ``expansion.contains`` entry carries its source in an extension, so a reviewer can trace each code.
CPT codes never carry the AMA descriptor (licensed text): their display is a neutral "CPT <code>" label.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "scripts" / "valueset_sources.json"
OUT = REPO / "cards" / "valuesets"
BASE_URL = "https://backpain-cds.example.org/fhir/ValueSet/"
SOURCE_EXT = "https://backpain-cds.example.org/fhir/StructureDefinition/code-source"
SYSTEMS = {
    "sct": "http://snomed.info/sct",
    "icd": "http://hl7.org/fhir/sid/icd-10-cm",
    "loinc": "http://loinc.org",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "cpt": "http://www.ama-assn.org/go/cpt",
}
CPT_DISPLAY = "CPT {code} (AMA descriptor not redistributed)"
OID_RE = re.compile(r"(2\.16\.840\.1\.\d+(?:\.\d+)+)")


def shared_valuesets() -> Path:
    env = os.environ.get("BACKPAIN_CDS_SHARED_DIR")
    base = Path(env) if env else REPO.parent / "shared"
    return base / "data" / "valuesets"


def load_vsac(folder: Path) -> dict[str, dict[tuple[str, str], str]]:
    """OID (or file stem) -> {(system, code): display} for every shared file."""
    out: dict[str, dict[tuple[str, str], str]] = {}
    for path in sorted(folder.glob("valueset-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        key = path.stem.removeprefix("valueset-")
        out[key] = {(c["system"], c["code"]): c["display"] for c in data["expansion"]["contains"]}
    return out


def entry(system: str, code: str, display: str, source: str) -> dict[str, Any]:
    if system == SYSTEMS["cpt"]:
        display = CPT_DISPLAY.format(code=code)
    return {
        "extension": [{"url": SOURCE_EXT, "valueString": source}],
        "system": system,
        "code": code,
        "display": display,
    }


def curated_entries(
    spec: dict[str, Any], vsac: dict[str, dict[tuple[str, str], str]]
) -> list[dict[str, Any]]:
    rows = []
    for alias, code, display, source in spec["codes"]:
        system = SYSTEMS[alias]
        for oid in OID_RE.findall(source):
            if oid in vsac:
                found = vsac[oid].get((system, code))
                if found is None:
                    sys.exit(f"{spec['id']}: {code} is cited from {oid} but is not in that file")
                display = found
        rows.append(entry(system, code, display, source))
    return rows + tsv_entries(spec, shared_valuesets())


def tsv_entries(spec: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Rows of the shared curated TSV lists chosen by ``spec["tsv"]`` (column -> regex, all must match)."""
    rows = []
    for part in spec.get("tsv", []):
        lines = (folder / part["file"]).read_text(encoding="utf-8").splitlines()
        header = lines[0].split("\t")
        where = {col: re.compile(rx) for col, rx in part["where"].items()}
        for line in lines[1:]:
            if not line.strip():
                continue
            row = dict(zip(header, line.split("\t"), strict=False))
            if all(rx.search(row.get(col, "")) for col, rx in where.items()):
                system = row[part["systemColumn"]] if "systemColumn" in part else SYSTEMS[part["system"]]
                source = part["source"].format(source=row.get("source", ""))
                rows.append(entry(system, row["code"], row["display"], source))
    if spec.get("tsv"):
        print(f"{spec['id']}: {len(rows)} rows from curated TSV lists")
    return rows


def derived_entries(spec: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / spec["file"]).read_text(encoding="utf-8"))
    oid = spec["file"].removeprefix("valueset-").removesuffix(".json")
    excluded: set[str] = set()
    if spec.get("excludeTsv"):
        lines = (folder / spec["excludeTsv"]).read_text(encoding="utf-8").splitlines()[1:]
        excluded = {line.split("\t")[0] for line in lines if line.strip()}
    drop_display = re.compile(spec.get("snomedDropDisplayRegex") or "(?!)", re.I)
    skin = re.compile(spec.get("snomedSkinNmscRegex") or "(?!)", re.I)
    skin_keep = re.compile(spec.get("snomedSkinKeepRegex") or "(?!)", re.I)
    keep_icd = re.compile(spec.get("icdKeepRegex") or "")
    drop_icd = re.compile(spec.get("icdDropRegex") or "(?!)")
    rows, dropped = [], 0
    for c in data["expansion"]["contains"]:
        system, code, display = c["system"], c["code"], c["display"]
        nmsc = bool(skin.search(display)) and not skin_keep.search(display)
        if system == SYSTEMS["sct"] and (code in excluded or drop_display.search(display) or nmsc):
            dropped += 1
            continue
        if system == SYSTEMS["icd"] and (not keep_icd.search(code) or drop_icd.search(code)):
            dropped += 1
            continue
        if system == SYSTEMS["cpt"]:
            display = CPT_DISPLAY.format(code=code)
        rows.append({"system": system, "code": code, "display": display})
    for alias, code, display, source in spec.get("add", []):
        rows.append(entry(SYSTEMS[alias], code, display, source))
    rows += tsv_entries(spec, folder)
    print(f"{spec['id']}: kept {len(rows)}, dropped {dropped}")
    spec["_vsac"] = f"http://cts.nlm.nih.gov/fhir/ValueSet/{oid}"
    return rows


def compose(spec: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_system: dict[str, list[dict[str, str]]] = {}
    if "_vsac" in spec:  # derived: cite the VSAC set; codes added by hand are listed as concepts
        rows = [row for row in rows if "extension" in row]
    for row in rows:
        by_system.setdefault(row["system"], []).append({"code": row["code"], "display": row["display"]})
    include: list[dict[str, Any]] = [{"system": s, "concept": c} for s, c in by_system.items()]
    if "_vsac" in spec:
        include.insert(0, {"valueSet": [spec["_vsac"]]})
    for alias, regex, _source in spec.get("filters", []):
        include.append(
            {"system": SYSTEMS[alias], "filter": [{"property": "code", "op": "regex", "value": regex}]}
        )
    result: dict[str, Any] = {"include": include}
    excludes = [
        {"system": SYSTEMS[alias], "filter": [{"property": "code", "op": "regex", "value": regex}]}
        for alias, regex, _source in spec.get("excludeFilters", [])
    ]
    if excludes:
        result["exclude"] = excludes
    return result


def valueset(spec: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for row in rows:
        key = (row["system"], row["code"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    notes = [f"{regex} ({src})" for _a, regex, src in spec.get("filters", [])]
    notes += [f"NOT {regex} ({src})" for _a, regex, src in spec.get("excludeFilters", [])]
    description = spec["description"] + (" Filters: " + "; ".join(notes) + "." if notes else "")
    return {
        "resourceType": "ValueSet",
        "id": spec["id"],
        "url": BASE_URL + spec["id"],
        "version": "2026.1",
        "name": "".join(part.capitalize() for part in spec["id"].split("-")),
        "title": spec["title"],
        "status": "active",
        "description": description,
        "compose": compose(spec, unique),
        "expansion": {"timestamp": "2026-01-01T00:00:00Z", "total": len(unique), "contains": unique},
    }


def write(vs: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(vs, indent=1, ensure_ascii=False) + "\n"
    (OUT / f"{vs['id']}.json").write_text(text, encoding="utf-8")


def main() -> int:
    folder = shared_valuesets()
    vsac = load_vsac(folder)
    sources = json.loads(SOURCES.read_text(encoding="utf-8"))
    for spec in sources["sets"]:
        write(valueset(spec, curated_entries(spec, vsac)))
    for spec in sources["derived"]:
        write(valueset(spec, derived_entries(spec, folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
