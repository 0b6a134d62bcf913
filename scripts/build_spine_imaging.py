"""Build ``cards/spine-imaging.json``: spine MRI and CT studies by modality and region, codes only.

Run from anywhere: ``python scripts/build_spine_imaging.py``. Kept apart from ``build_valuesets.py`` (another
engineer's file) because this list is not a plain ValueSet: the order hooks need each study's modality and
region, and CPT codes must never carry their (licensed) descriptors.

* LOINC and SNOMED CT rows: every row of ``<shared>/data/valuesets/spine-imaging-loinc-snomed.tsv`` (LOINC 2.76
  RSNA/LOINC Playbook names from VSAC 2.16.840.1.113883.3.464.1003.198.12.1034 and the SNOMED CT BE set); the
  ``study`` column is mapped to modality and region below, the ``contrast`` column is kept. Displays are left
  out: the card names studies in its own words (``cards/order-decisions.json`` ``studyNames``).
* CPT rows: only the codes checked one by one against a public code list (the CDS Hooks sandbox's PAMA procedure
  list, cds-hooks/sandbox ``src/assets/pama-procedure-codes.json``); the mapping to modality, region and contrast
  is written here by hand as codes only. 72159 (MR angiography of the spinal canal) is not a spine MRI study
  and 72191-72198 are pelvic studies, so none of them is listed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "cards" / "spine-imaging.json"
URL = "https://backpain-cds.example.org/fhir/ValueSet/spine-imaging-studies"
CPT = "http://www.ama-assn.org/go/cpt"
CPT_SOURCE = "CPT code checked in cds-hooks/sandbox src/assets/pama-procedure-codes.json (codes only)"

# The TSV's ``study`` column -> (modality, region). Every study in the TSV must be listed (the build fails
# otherwise), so a new row cannot slip in unclassified.
STUDIES: dict[str, tuple[str, str]] = {
    "MRI lumbar": ("MRI", "lumbar"),
    "MRI lumbosacral (lumbar and sacrum)": ("MRI", "lumbosacral"),
    "MRI sacrum": ("MRI", "sacrum"),
    "MRI thoracic": ("MRI", "thoracic"),
    "MRI cervical": ("MRI", "cervical"),
    "MRI whole spine (C+T+L)": ("MRI", "whole"),
    "MRI whole spine and sacrum": ("MRI", "whole"),
    "MRI thoracic and lumbar": ("MRI", "thoracolumbar"),
    "MRI spine (region not stated)": ("MRI", "unspecified"),
    "MR myelography": ("MRI", "unspecified"),
    "CT lumbar": ("CT", "lumbar"),
    "CT lumbosacral (lumbar and sacrum)": ("CT", "lumbosacral"),
    "CT lumbosacral junction": ("CT", "lumbosacral"),
    "CT thoracic": ("CT", "thoracic"),
    "CT cervical": ("CT", "cervical"),
    "CT whole spine (C+T+L)": ("CT", "whole"),
    "CT thoracic and lumbar": ("CT", "thoracolumbar"),
    "CT spine (region not stated)": ("CT", "unspecified"),
    "CT myelography lumbar": ("CT", "lumbar"),
    "CT myelography thoracic": ("CT", "thoracic"),
    "CT myelography cervical": ("CT", "cervical"),
    "CT myelography (region not stated)": ("CT", "unspecified"),
}

# CPT code -> (modality, region, contrast); each checked individually (see the module docstring).
CPT_CODES: dict[str, tuple[str, str, str]] = {
    "72125": ("CT", "cervical", "WO"),
    "72126": ("CT", "cervical", "W"),
    "72127": ("CT", "cervical", "WO and W"),
    "72128": ("CT", "thoracic", "WO"),
    "72129": ("CT", "thoracic", "W"),
    "72130": ("CT", "thoracic", "WO and W"),
    "72131": ("CT", "lumbar", "WO"),
    "72132": ("CT", "lumbar", "W"),
    "72133": ("CT", "lumbar", "WO and W"),
    "72141": ("MRI", "cervical", "WO"),
    "72142": ("MRI", "cervical", "W"),
    "72156": ("MRI", "cervical", "WO and W"),
    "72146": ("MRI", "thoracic", "WO"),
    "72147": ("MRI", "thoracic", "W"),
    "72157": ("MRI", "thoracic", "WO and W"),
    "72148": ("MRI", "lumbar", "WO"),
    "72149": ("MRI", "lumbar", "W"),
    "72158": ("MRI", "lumbar", "WO and W"),
}


def shared_tsv() -> Path:
    env = os.environ.get("BACKPAIN_CDS_SHARED_DIR")
    base = Path(env) if env else REPO.parent / "shared"
    return base / "data" / "valuesets" / "spine-imaging-loinc-snomed.tsv"


def _contrast(raw: str) -> str:
    """The TSV's contrast wording reduced to WO, W, WO and W, W IT, WO and W IT or unspecified."""
    text = raw.strip()
    if "IT" in text.split():
        return "WO and W IT" if text.startswith("WO and W") else "W IT"
    if text.startswith("WO and W"):
        return "WO and W"
    if text.startswith("W"):
        return "W" if not text.startswith("WO") else "WO"
    if text.startswith("limited WO"):
        return "WO"
    return "unspecified"


def studies_from_tsv(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["study"] not in STUDIES:
                raise SystemExit(f"{path.name}: study {row['study']!r} of {row['code']} has no modality/region")
            modality, region = STUDIES[row["study"]]
            technique = "myelography" if "myelograph" in row["study"] else None
            study: dict[str, Any] = {
                "system": row["system"],
                "code": row["code"],
                "modality": modality,
                "region": region,
                "contrast": _contrast(row["contrast"]),
                "source": f"{path.name} ({row['source']})",
            }
            if technique:
                study["technique"] = technique
            out.append(study)
    return out


def build(path: Path) -> dict[str, Any]:
    studies = studies_from_tsv(path)
    for code, (modality, region, contrast) in CPT_CODES.items():
        studies.append(
            {"system": CPT, "code": code, "modality": modality, "region": region, "contrast": contrast,
             "source": CPT_SOURCE}
        )
    keys = [(s["system"], s["code"]) for s in studies]
    if len(keys) != len(set(keys)):
        raise SystemExit("duplicate (system, code) in the spine-imaging list")
    return {
        "_about": (
            "Generated by scripts/build_spine_imaging.py; do not edit by hand. Spine MRI and CT studies by "
            "modality and region for the order-select / order-sign services. Codes only: no displays (CPT "
            "descriptors are licensed text); the card names each study with studyNames of order-decisions.json."
        ),
        "url": URL,
        "title": "Spine imaging studies (MRI, CT) by modality and region",
        "studies": studies,
    }


def main() -> int:
    data = build(shared_tsv())
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['studies'])} studies to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
