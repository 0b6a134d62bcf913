"""Runtime settings, read from ``BACKPAIN_CDS_*`` environment variables and an optional ``.env``.

Settings are built lazily through :func:`get_settings` (never at import time) so tests can build
their own instance and hand it to ``create_app``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.fhir.base_url import BaseUrl, parse_allowlist
from service.paths import CHECKOUT_ROOT
from service.paths import knowledge_dir as shipped_knowledge_dir

REPO_ROOT = CHECKOUT_ROOT


class TrustedIssuer(BaseModel):
    """A CDS client allowed to call us: where its keys are and which ``jku`` it may name."""

    iss: str
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    jku: list[str] = Field(default_factory=list)
    tenant: str | None = None


def _split_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of the service. Profile ``development`` is lenient, ``production`` is locked down."""

    model_config = SettingsConfigDict(env_prefix="BACKPAIN_CDS_", env_file=".env", extra="ignore")

    profile: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./backpain-cds.db"
    public_base_url: str = "http://127.0.0.1:8080"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The cards/ shipped with the package, whatever the working directory (service/paths.py).
    knowledge_dir: Path = Field(default_factory=shipped_knowledge_dir)
    log_level: str = "INFO"
    log_json: bool = True

    # FHIR callbacks (issue 4; caps issue 16)
    fhir_deadline_seconds: float = 2.0
    fhir_connect_timeout_seconds: float = 1.0
    fhir_read_timeout_seconds: float = 1.5
    fhir_page_cap: int = 20
    fhir_allow_anonymous: bool | None = None
    fhir_server_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Parsing a response holds the event loop (orjson keeps the GIL), so the byte cap bounds the stall.
    fhir_max_response_bytes: int = 4 * 1024 * 1024
    fhir_max_invocation_bytes: int = 16 * 1024 * 1024
    fhir_max_response_resources: int = 2_000
    fhir_max_invocation_resources: int = 10_000
    # One FHIR batch POST for a request's template queries, to a server whose CapabilityStatement declares it.
    fhir_batch: bool = True
    # Outbound calls (FHIR, JWKS) ignore HTTP(S)_PROXY and friends unless this is on: a proxy sees tokens.
    use_proxy_env: bool = False

    # Authentication of CDS clients (issue 5)
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["ES384", "RS384"])
    jwt_max_lifetime_seconds: int = 3600
    jwt_leeway_seconds: int = 60
    jwks_fetch_timeout_seconds: float = 2.0
    jwks_cache_seconds: int = 3600
    jwks_failures_to_open: int = 3
    jwks_open_seconds: float = 30.0

    # Input limits (issue 5; feedback and HTTP issue 16)
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = 64
    feedback_max_items: int = 100
    http_max_header_bytes: int = 32 * 1024
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    http_keep_alive_seconds: float = 5.0
    http_max_connections: int = 1000
    http_backlog: int = 2048

    # Database (issue 16)
    database_connect_timeout_seconds: float = 3.0
    database_statement_timeout_seconds: float = 3.0
    readyz_timeout_seconds: float = 2.0

    # Operations endpoints: None = on in development, off in production
    metrics_enabled: bool | None = None
    docs_enabled: bool | None = None

    # Closed loop (issue 18): the card record and snooze. The patient key is HMAC-SHA256 under this secret;
    # rotate by moving the old secret to ..._PREVIOUS_SECRETS (still accepted for look-ups). Unset in
    # development: a fixed, public development key. Unset in production: cards are recorded without a
    # patient key and cannot be snoozed.
    patient_key_secret: SecretStr | None = None
    patient_key_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # A card record or snooze look-up that fails: True fails the request (503 for a database that is down or
    # does not answer in time, as the replay cache and feedback do), False logs, counts and answers the card.
    # Default: True in production, False in development.
    card_record_strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("cors_origins", "fhir_server_allowlist", "jwt_algorithms", "patient_key_previous_secrets"):
                if key in data:
                    try:
                        data[key] = _split_list(data[key])
                    except ValueError as exc:  # named here: a model-level error has no field to point at
                        raise ValueError(f"BACKPAIN_CDS_{key.upper()} is not a JSON list ({exc})") from exc
        return data

    @property
    def parsed_fhir_allowlist(self) -> list[BaseUrl]:
        """The allowlist entries as parsed base URLs (invalid entries are refused at start-up)."""
        return parse_allowlist(self.fhir_server_allowlist)

    @property
    def expose_metrics(self) -> bool:
        return self.metrics_enabled if self.metrics_enabled is not None else not self.is_production

    @property
    def expose_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def is_production(self) -> bool:
        return self.profile == "production"

    @property
    def anonymous_fhir_allowed(self) -> bool:
        """Anonymous FHIR queries: on in development (the sandbox sends no token), off in production."""
        if self.fhir_allow_anonymous is not None:
            return self.fhir_allow_anonymous
        return not self.is_production

    @property
    def card_record_must_succeed(self) -> bool:
        return self.is_production if self.card_record_strict is None else self.card_record_strict

    @property
    def auth_required(self) -> bool:
        return self.is_production


# Documented range of every numeric setting (README "Settings"); start-up refuses anything outside,
# and NaN or infinity, so a typo cannot give a 10-year JWT leeway or a deadline that never fires.
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "fhir_deadline_seconds": (0.1, 30),
    "fhir_connect_timeout_seconds": (0.05, 30),
    "fhir_read_timeout_seconds": (0.05, 30),
    "fhir_page_cap": (1, 1000),
    "fhir_max_response_bytes": (1024, 256 * 1024 * 1024),
    "fhir_max_invocation_bytes": (1024, 1024 * 1024 * 1024),
    "fhir_max_response_resources": (1, 1_000_000),
    "fhir_max_invocation_resources": (1, 1_000_000),
    "jwt_max_lifetime_seconds": (1, 86_400),
    "jwt_leeway_seconds": (0, 300),
    "jwks_fetch_timeout_seconds": (0.1, 30),
    "jwks_cache_seconds": (0, 86_400),
    "jwks_failures_to_open": (1, 100),
    "jwks_open_seconds": (1, 3600),
    "max_body_bytes": (1024, 256 * 1024 * 1024),
    "max_json_depth": (4, 1000),
    "feedback_max_items": (1, 10_000),
    "http_max_header_bytes": (1024, 1024 * 1024),
    "http_header_timeout_seconds": (0.5, 300),
    "http_body_timeout_seconds": (0.5, 600),
    "http_keep_alive_seconds": (0.5, 300),
    "http_max_connections": (1, 100_000),
    "http_backlog": (1, 65_535),
    "database_connect_timeout_seconds": (0.5, 60),
    "database_statement_timeout_seconds": (0.1, 600),
    "readyz_timeout_seconds": (0.1, 60),
}


def env_name(field: str) -> str:
    return f"BACKPAIN_CDS_{field.upper()}"


def settings_problems(settings: Settings) -> list[str]:
    """Every numeric setting outside its documented range or not finite, and every bad allowlist entry."""
    problems = []
    for name, (low, high) in NUMERIC_RANGES.items():
        value = getattr(settings, name)
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(f"{env_name(name)}={value!r} is outside {low:g}..{high:g}")
    if settings.fhir_max_response_bytes > settings.fhir_max_invocation_bytes:
        problems.append("BACKPAIN_CDS_FHIR_MAX_RESPONSE_BYTES exceeds BACKPAIN_CDS_FHIR_MAX_INVOCATION_BYTES")
    try:
        parse_allowlist(settings.fhir_server_allowlist)
    except ValueError as exc:
        problems.append(f"BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST: {exc}")
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
