"""Every error body is a FHIR OperationOutcome (decision G6), built in one place so all layers agree."""

from __future__ import annotations

from typing import Any


def operation_outcome(code: str, message: str) -> dict[str, Any]:
    """A one-issue OperationOutcome; ``message`` must never contain patient data or secrets."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
