"""Runtime settings, read from ``BACKPAIN_CDS_*`` environment variables and an optional ``.env``.

Settings are built lazily through :func:`get_settings` (never at import time) so tests can build
their own instance and hand it to ``create_app``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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

    # FHIR callbacks (issue 4)
    fhir_deadline_seconds: float = 2.0
    fhir_connect_timeout_seconds: float = 1.0
    fhir_read_timeout_seconds: float = 1.5
    fhir_page_cap: int = 20
    fhir_allow_anonymous: bool | None = None
    fhir_server_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Authentication of CDS clients (issue 5)
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["ES384", "RS384"])
    jwt_max_lifetime_seconds: int = 3600
    jwt_leeway_seconds: int = 60
    jwks_fetch_timeout_seconds: float = 2.0
    jwks_cache_seconds: int = 3600

    # Input limits (issue 5)
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = 64

    # Closed loop (issue 18): the card record and snooze. The patient key is HMAC-SHA256 under this secret;
    # rotate by moving the old secret to ..._PREVIOUS_SECRETS (still accepted for look-ups). Unset in
    # development: a fixed, public development key. Unset in production: cards are recorded without a
    # patient key and cannot be snoozed.
    patient_key_secret: SecretStr | None = None
    patient_key_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # A card record or snooze look-up that fails: True answers 500 (as the replay cache and feedback do),
    # False logs, counts and answers the card. Default: True in production, False in development.
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
