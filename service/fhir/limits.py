"""Caps on what FHIR callbacks may bring in (issue 16), shared by answers asked alone and in a batch."""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import FhirAccessError
from service.settings import Settings


class CapExceeded(FhirAccessError):
    """A byte cap was hit: the answer was too big, which says nothing about whether the server batches."""


@dataclass(frozen=True)
class CallbackLimits:
    """Caps on what FHIR callbacks may bring in: per response and per invocation (issue 16).

    The server URL comes from the caller, so its answers are untrusted: without caps one hook call
    could hold a gigabyte, and parsing a huge page holds the event loop past the deadline.
    """

    response_bytes: int = 4 * 1024 * 1024
    invocation_bytes: int = 16 * 1024 * 1024
    response_resources: int = 2_000
    invocation_resources: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> CallbackLimits:
        return cls(
            settings.fhir_max_response_bytes,
            settings.fhir_max_invocation_bytes,
            settings.fhir_max_response_resources,
            settings.fhir_max_invocation_resources,
        )

    def too_many_bytes(self, invocation: bool, cap: int) -> str:
        """The failure message of a byte cap: the invocation's budget, or ``cap`` on one answer."""
        if invocation:
            return f"FHIR callbacks of this invocation exceeded {self.invocation_bytes} bytes"
        return f"FHIR server answered more than {cap} bytes"
