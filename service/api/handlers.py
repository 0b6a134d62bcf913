"""Maps the exception tree of ``service.errors`` to HTTP statuses with OperationOutcome bodies.

Nothing here ever returns a traceback or the request's content; unexpected exceptions are logged with
their type only and answered with a generic 500 OperationOutcome by the error shield of ``service.api.edge``.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.api.responses import outcome_response
from service.errors import ServiceError, Unauthorized
from service.metrics import reject_jwt
from service.operation_outcome import operation_outcome

log = structlog.get_logger("service.errors")

_HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


async def service_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, Unauthorized):
        log.warning("auth.rejected", reason=exc.reason)
        reject_jwt(exc.reason)
        # Bare 401: which check failed is logged above, never told to the caller (spec G5).
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return outcome_response(exc.status_code, operation_outcome(exc.code, exc.message))


async def http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "processing")
    return outcome_response(exc.status_code, operation_outcome(code, str(exc.detail)))


async def validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return outcome_response(400, operation_outcome("invalid", "request does not match the expected shape"))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
