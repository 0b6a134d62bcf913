"""Refuse to start with security settings that would silently leave the service open.

Called once at start-up; a refusal names every problem so the operator fixes them in one go.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from service.security.jwt import KEY_TYPES
from service.settings import Settings, settings_problems


class InsecureSettingsError(RuntimeError):
    """The settings are unsafe for the chosen profile; the message says what to change."""


def _is_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def security_problems(settings: Settings) -> list[str]:
    """Every reason the settings are unsafe; checks on algorithms apply to every profile."""
    problems = settings_problems(settings)
    problems += [
        f"BACKPAIN_CDS_JWT_ALGORITHMS: {alg!r} is not an allowed asymmetric JWS algorithm "
        f"(use some of {', '.join(sorted(KEY_TYPES))}; never none or HMAC)"
        for alg in settings.jwt_algorithms
        if alg not in KEY_TYPES
    ]
    for issuer in settings.trusted_issuers:
        if issuer.jwks is None and not issuer.jwks_url and not issuer.jku:
            problems.append(f"trusted issuer {issuer.iss!r} has no jwks, jwks_url or jku: no key can verify it")
    if not settings.is_production:
        return problems
    if not settings.trusted_issuers:
        problems.append(
            "profile production needs at least one trusted CDS client in BACKPAIN_CDS_TRUSTED_ISSUERS "
            '(a JSON list like [{"iss": "...", "jwks_url": "https://..."}]); without one every call '
            "would be refused"
        )
    if "*" in settings.cors_origins:
        problems.append("profile production does not allow '*' in BACKPAIN_CDS_CORS_ORIGINS; list the origins")
    if not _is_https(settings.public_base_url):
        problems.append("profile production needs an https BACKPAIN_CDS_PUBLIC_BASE_URL (it is the JWT aud)")
    for issuer in settings.trusted_issuers:
        urls = [issuer.jwks_url] if issuer.jwks_url else []
        problems.extend(
            f"trusted issuer {issuer.iss!r}: key URL {url!r} must be https in production"
            for url in [*urls, *issuer.jku]
            if not _is_https(url)
        )
    return problems


def check_production_settings(settings: Settings) -> None:
    """Raise InsecureSettingsError listing every problem; return quietly when the settings are safe."""
    problems = security_problems(settings)
    if problems:
        raise InsecureSettingsError(
            f"refusing to start (profile {settings.profile}):\n" + "\n".join(f"- {p}" for p in problems)
        )
