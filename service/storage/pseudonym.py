"""Keyed patient pseudonyms: the only per-patient value the database holds (issue 18, snooze).

HMAC-SHA256 over the token issuer and the patient id, so the same id from two EHRs gives two keys and
nobody without the secret can test a guessed id against the table. Rotation: new cards are keyed with the
current secret; look-ups also try every previous secret, so a snooze given before a rotation still holds
until it expires (30 days by default), after which the old secret can be dropped.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from service.settings import Settings

# Public on purpose: development databases hold fixture patients only. Production never uses it.
DEVELOPMENT_SECRET = "backpain-cds development patient key (not a secret)"


class PatientKeys:
    """Computes the current key and the look-up candidates for ``(issuer, patient id)``."""

    def __init__(self, current: str | None, previous: list[str] | None = None) -> None:
        self._current = current.encode() if current else None
        self._all = [s.encode() for s in [current, *(previous or [])] if s]
        # A chart is opened again and again: its keys (one HMAC per secret) are kept for recent patients.
        self._recent = lru_cache(maxsize=4096)(self._keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> PatientKeys:
        secret = settings.patient_key_secret.get_secret_value() if settings.patient_key_secret else None
        if secret is None and not settings.is_production:
            secret = DEVELOPMENT_SECRET
        return cls(secret, [s.get_secret_value() for s in settings.patient_key_previous_secrets])

    @property
    def enabled(self) -> bool:
        return self._current is not None

    @staticmethod
    def _digest(secret: bytes, issuer: str | None, patient_id: str) -> str:
        message = f"{issuer or ''}\x1f{patient_id}".encode()
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    def current(self, issuer: str | None, patient_id: str) -> str | None:
        """The key new rows get; None when no secret is configured."""
        return self._digest(self._current, issuer, patient_id) if self._current else None

    def candidates(self, issuer: str | None, patient_id: str) -> list[str]:
        """Keys under the current and every previous secret, for look-ups across a rotation."""
        return list(self._recent(issuer, patient_id))

    def _keys(self, issuer: str | None, patient_id: str) -> tuple[str, ...]:
        return tuple(self._digest(secret, issuer, patient_id) for secret in self._all)
