"""The service's exception tree; ``service.api.handlers`` maps each branch to one HTTP status.

    ServiceError                      base; never reaches a client as a traceback
    ├── InvalidRequest         400    malformed JSON, schema violation, wrong hook
    ├── Unauthorized           401    any JWT failure (the reason is logged, never returned)
    ├── UnknownService         404    no CDS service with that id
    ├── RequestTimeout         408    body not received within the configured time
    ├── PayloadTooLarge        413    body over the configured limit
    ├── UnsupportedMediaType   415    body is not JSON
    ├── RequiredDataUnavailable 412   prefetch and FHIR server both failed for required data
    ├── DatabaseUnavailable    503    the database did not answer in time (replay cache, feedback)
    ├── FhirAccessError               a FHIR callback failed (caught by data gathering)
    └── KnowledgeError                a cards/ file is broken; raised at start-up only
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500
    code = "exception"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    """Raised when a request body is not valid JSON or breaks the CDS Hooks schema."""

    status_code = 400
    code = "invalid"


class Unauthorized(ServiceError):
    """Raised when a JWT is missing or fails a check; ``reason`` goes to the log only."""

    status_code = 401
    code = "security"

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


class UnknownService(ServiceError):
    """Raised when the path names a service id we do not host."""

    status_code = 404
    code = "not-found"


class RequestTimeout(ServiceError):
    """Raised when the client sends its body slower than ``http_body_timeout_seconds`` allows."""

    status_code = 408
    code = "timeout"


class PayloadTooLarge(ServiceError):
    """Raised when the body exceeds ``max_body_bytes``."""

    status_code = 413
    code = "too-costly"


class UnsupportedMediaType(ServiceError):
    """Raised when a POST body is not declared as JSON."""

    status_code = 415
    code = "not-supported"


class RequiredDataUnavailable(ServiceError):
    """Raised when data the rules cannot do without was neither prefetched nor fetchable (spec E10)."""

    status_code = 412
    code = "incomplete"


class DatabaseUnavailable(ServiceError):
    """Raised when the database errs or does not answer within its timeout: a fast 503, not a hang."""

    status_code = 503
    code = "transient"


class FhirAccessError(ServiceError):
    """Raised by the FHIR client when a query fails (status, timeout, unparsable body).

    ``reason`` is a bounded label for metrics: timeout, connect, status, invalid, deadline or other;
    ``http_status`` the FHIR server's answer when ``reason`` is ``status``.
    """

    status_code = 502
    code = "transient"

    def __init__(self, message: str, reason: str = "other", *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.http_status = http_status


class KnowledgeError(ServiceError):
    """Raised at start-up when a knowledge file in ``cards/`` is missing, invalid or inconsistent."""
