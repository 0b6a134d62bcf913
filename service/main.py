"""``create_app()``: wiring only (settings, knowledge, storage, middleware, routers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service import __version__
from service.api import discovery, feedback, health, hooks, metrics, preview
from service.api.deps import AppState
from service.api.edge import EdgeLayer
from service.api.handlers import install_handlers
from service.cdshooks.models import FeedbackRequest, HookRequest
from service.clock import Clock, system_clock
from service.fhir.transport import FhirHttp, key_set_http
from service.gc_tuning import tune_gc
from service.knowledge import Knowledge, load_knowledge
from service.logging import configure_logging
from service.metrics import declare_tiers
from service.security.jwt import Authenticator
from service.security.replay import ReplayCache
from service.security.startup import check_production_settings
from service.settings import Settings, get_settings
from service.startup import checked_knowledge
from service.storage.cards import CardLog
from service.storage.db import make_engine
from service.storage.feedback import FeedbackStore
from service.storage.migrate import ensure_schema
from service.storage.pseudonym import PatientKeys
from service.storage.replay import DatabaseReplayCache


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (HookRequest, FeedbackRequest):
            body = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    knowledge: Knowledge | None = None,
    replay_cache: ReplayCache | None = None,
) -> FastAPI:
    """Build the ASGI app; arguments exist so tests can pin settings, time and knowledge."""
    settings = settings or get_settings()
    check_production_settings(settings)
    configure_logging(settings.log_level, settings.log_json)
    knowledge = knowledge or checked_knowledge(settings.knowledge_dir) or load_knowledge(settings.knowledge_dir)
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    ensure_schema(engine)
    # Proxy variables ignored unless use_proxy_env (they would receive every FHIR token and JWKS fetch), no
    # redirects, sockets read with back-pressure (issue 16); aiohttp for FHIR callbacks (issue 17, transport.py).
    http = FhirHttp.from_settings(settings)
    key_http = key_set_http(settings)
    # The database cache on every back-end: workers are processes, so memory is not shared (see replay.py).
    replay = replay_cache or DatabaseReplayCache(engine, timeout=settings.database_statement_timeout_seconds)
    card_log = CardLog(engine, flush_timeout=settings.database_statement_timeout_seconds)
    state = AppState(
        settings, knowledge, clock, FeedbackStore(engine), http,
        authenticator=Authenticator(settings, replay, key_http), engine=engine, replay_cache=replay,
        card_log=card_log, patient_keys=PatientKeys.from_settings(settings),
    )
    declare_tiers(list(knowledge.cards.tiers))
    if not state.patient_keys or not state.patient_keys.enabled:
        structlog.get_logger("service.cards").warning(
            "cards.snooze_disabled", reason="BACKPAIN_CDS_PATIENT_KEY_SECRET is not set"
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tune_gc()
        yield
        await http.aclose()
        await key_http.aclose()
        card_log.close()  # cards batched after their answer (card_batch.py), bounded by the statement timeout
        engine.dispose()

    # Production serves neither the API docs nor /metrics unless a setting asks (issue 16): the
    # schema maps the attack surface and the per-tier counters describe patients in aggregate.
    docs: dict[str, Any] = {} if settings.expose_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="Back-pain red-flag CDS", version=__version__, lifespan=lifespan, **docs)
    app.state.backpain = state
    install_handlers(app)
    for module in (discovery, hooks, feedback, health):
        app.include_router(module.router)
    if settings.expose_metrics:
        app.include_router(metrics.router)
    if not settings.is_production:
        app.include_router(preview.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    # One pure-ASGI layer for paths, CORS, body limits, the error shield and the access log (service/api/edge.py).
    app.add_middleware(EdgeLayer.for_settings, settings=settings)
    return app
