"""Test keys, JWT minting (honest and forged) and a recording JWKS server, shared by auth tests.

Keys are generated per test session with ``cryptography``; nothing here is a real credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.settings import Settings, TrustedIssuer

BASE = "https://cds.test.example"
ISS = "https://ehr.test.example"
JKU = "https://ehr.test.example/.well-known/jwks.json"
SERVICE_PATH = "/cds-services/backpain-red-flags"
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@cache  # never evicted: modules build env from a key at import, tests sign later
def ec_key(name: str = "a", curve: str = "P-384") -> ec.EllipticCurvePrivateKey:
    """A cached EC key per name, so tests stay fast but distinct names give distinct keys."""
    del name
    return ec.generate_private_key({"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[curve])


@lru_cache(maxsize=4)
def rsa_key(name: str = "a") -> rsa.RSAPrivateKey:
    del name
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: PrivateKey, kid: str, alg: str) -> dict[str, Any]:
    """The public half as a JWK with ``kid``, ``use`` and ``alg`` as a CDS client would publish it."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(path: str = SERVICE_PATH, **overrides: Any) -> dict[str, Any]:
    """A valid payload for ``path``; pass ``name=None`` to drop a claim."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISS,
        "aud": BASE + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


def mint(key: PrivateKey, payload: dict[str, Any], *, alg: str = "ES384", kid: str | None = "k1", **header: Any) -> str:
    """Sign honestly with PyJWT; extra header fields (``jku``, ``typ``) pass through, None drops one."""
    fields = {"kid": kid, "typ": "JWT", **header}
    kept = {name: value for name, value in fields.items() if value is not None or name == "typ"}
    return jwt.encode(payload, key, algorithm=alg, headers=kept)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], hmac_secret: bytes | None = None) -> str:
    """A hand-built token: unsigned (``alg: none``) or HMAC-signed with ``hmac_secret``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if hmac_secret is None:
        return signing_input + "."
    digest = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


@dataclass
class JwksServer:
    """Serves JWK Sets by URL through ``httpx.MockTransport`` and records every URL fetched."""

    sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.fetched.append(url)
        if url not in self.sets:
            return httpx.Response(404)
        return httpx.Response(200, json=self.sets[url])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def settings_for(*issuers: TrustedIssuer, **overrides: Any) -> Settings:
    """Settings isolated from the environment and any ``.env`` file."""
    values: dict[str, Any] = {
        "profile": "production",
        "public_base_url": BASE,
        "trusted_issuers": list(issuers),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)
