"""ES384 client tokens for tests: an EC P-384 key made per test, tokens signed with PyJWT."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass
class Signer:
    """Signs tokens as one issuer; ``public_pem`` and ``jwks`` are what the verifier is given."""

    issuer: str
    kid: str = "test-key-1"

    def __post_init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP384R1())

    @property
    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES384", "use": "sig"}]}

    def token(self, audience: str, *, jti: str | None = None, lifetime: int = 300) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "ehr-client", "aud": audience, "iat": now,
                  "exp": now + lifetime, "jti": jti or str(uuid.uuid4())}
        return jwt.encode(claims, self._key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})
