"""What endpoints share: the application state and the authentication dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy import Engine

from service.api.paths import called_path
from service.clock import Clock
from service.fhir.transport import FhirHttp
from service.knowledge import Knowledge
from service.security.replay import ReplayCache
from service.settings import Settings
from service.storage.cards import CardLog
from service.storage.feedback import FeedbackStore
from service.storage.pseudonym import PatientKeys


class Authenticator(Protocol):
    async def authenticate(self, authorization_header: str | None, path: str) -> dict[str, Any] | None: ...


@dataclass
class AppState:
    """Built once in ``create_app``; nothing here is per request."""

    settings: Settings
    knowledge: Knowledge
    clock: Clock
    feedback: FeedbackStore
    http: FhirHttp  # FHIR callbacks; JWK Sets are fetched by the authenticator's own client
    authenticator: Authenticator | None = None
    engine: Engine | None = None
    # Shared by every worker and replica through the database (issue 7); the authenticator uses it.
    replay_cache: ReplayCache | None = None
    # The record of issued cards and the snooze (issue 18).
    card_log: CardLog | None = None
    patient_keys: PatientKeys | None = None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.backpain
    return state


async def _app_state_dependency(request: Request) -> AppState:
    """``app_state`` as an async dependency: FastAPI runs a sync one in a worker thread on every request."""
    return app_state(request)


State = Annotated[AppState, Depends(_app_state_dependency)]


async def authenticate(request: Request) -> None:
    """Verify the caller's JWT on every CDS Hooks endpoint (spec K2: discovery, service, feedback)."""
    authenticator = app_state(request).authenticator
    if authenticator is not None:
        claims = await authenticator.authenticate(request.headers.get("authorization"), called_path(request.scope))
        request.state.jwt_iss = claims.get("iss") if claims else None


Authenticated = Depends(authenticate)
