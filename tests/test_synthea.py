"""Every Synthea patient of ../shared/data/synthea-r4 is evaluated without an error and gets no card.

Files are transaction Bundles with urn:uuid fullUrls; resources are grouped per prefetch key by resourceType
(Observations filtered to the prefetch template's codes, as an EHR would send them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.engine import evaluate
from service.fixtures_catalog import record_from_resources, shared_dir
from tests.support.engine import knowledge
from tests.support.shared import shared, synthea, synthea_params

SYNTHEA = shared_dir() / "data" / "synthea-r4"
FILES = synthea_params()
T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_synthea_folder_is_present() -> None:
    shared("data", "synthea-r4")
    assert len(FILES) >= 30, f"expected the 30 Synthea bundles in {SYNTHEA}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:24] if isinstance(p, Path) else None)
def test_synthea_patient_gets_no_card(path: Path | None) -> None:
    bundle = json.loads(synthea(path).read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    k = knowledge()
    result = evaluate(record_from_resources(patient_id, resources, k.service), k, T, "synthea-" + patient_id)
    assert result.cards == []
    assert result.tier is None
    assert "F1" not in result.flags
