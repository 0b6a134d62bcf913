"""The production-profile workload: every request carries a fresh JWT, checked against a replay cache on SQLite.

The benchmark is its own CDS client: it makes a key per run, gives the service the public half as an
out-of-band key set (``BACKPAIN_CDS_TRUSTED_ISSUERS`` with ``jwks``, so no key server is needed) and signs
one token per request with a unique ``jti``, as an EHR does. Both algorithms the specification recommends
are measured (CDS_HOOKS.md K10): ES384 (P-384, the sandbox's) in ``production`` and RS384 (RSA 2048, the
default a secondary copy of Epic's tutorial names) in ``production-rs384``; verifying a P-384 signature
costs OpenSSL about three times an RSA-2048 one, so the two bound what an EHR's choice costs. The tokens
of a wrk run are minted before it starts (0.2-1.5 ms each) and wrk's Lua script sends each once; a run that outpaces
``TOKENS_PER_SECOND`` would replay tokens and show up as errors, never as a faster service.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.bench.invalid"
PUBLIC_BASE_URL = "https://cds.bench.invalid"
ALGORITHM = "ES384"
# The production workloads and the algorithm each signs with.
ALGORITHM_OF = {"production": "ES384", "production-rs384": "RS384"}
KID = "bench-1"
TOKENS_PER_SECOND = 1500  # above what one pinned CPU answers at any level; each token is used once
TOKEN_SECONDS = 1800


def _new_key(algorithm: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if algorithm == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == "RS384":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"the benchmark signs ES384 or RS384, not {algorithm}")


@dataclass
class BenchIssuer:
    """A CDS client for the benchmark: its key, the service settings that trust it, and its tokens."""

    algorithm: str = ALGORITHM
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = field(init=False)

    def __post_init__(self) -> None:
        self.key = _new_key(self.algorithm)

    def public_jwk(self) -> dict[str, Any]:
        public = self.key.public_key()
        jwk: dict[str, Any] = (RSAAlgorithm.to_jwk(public, as_dict=True) if isinstance(public, rsa.RSAPublicKey)
                               else ECAlgorithm.to_jwk(public, as_dict=True))
        return {**jwk, "kid": KID, "use": "sig", "alg": self.algorithm}

    def env(self) -> dict[str, str]:
        """Settings of a production service that trusts this issuer (and nothing else)."""
        return {
            "BACKPAIN_CDS_PROFILE": "production",
            "BACKPAIN_CDS_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "BACKPAIN_CDS_CORS_ORIGINS": PUBLIC_BASE_URL,
            "BACKPAIN_CDS_JWT_ALGORITHMS": self.algorithm,
            "BACKPAIN_CDS_TRUSTED_ISSUERS": json.dumps([{"iss": ISSUER, "jwks": {"keys": [self.public_jwk()]}}]),
        }

    def token(self, path: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": PUBLIC_BASE_URL + path, "iat": now, "exp": now + TOKEN_SECONDS,
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers={"kid": KID, "typ": "JWT"})

    def headers(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path)}"}

    def token_file(self, directory: Path, path: str, seconds: float) -> Path:
        """Enough fresh tokens for a wrk run of ``seconds``, one per line."""
        count = max(100, math.ceil(seconds * TOKENS_PER_SECOND))
        target = directory / "tokens.txt"
        target.write_text("\n".join(self.token(path) for _ in range(count)) + "\n")
        return target
