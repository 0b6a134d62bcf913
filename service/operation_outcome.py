"""FHIR OperationOutcome bodies: the one shape of every error the service returns (decision G6)."""

from __future__ import annotations

from typing import Any


def operation_outcome(code: str, message: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue; ``message`` must never carry patient data or tokens."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }
