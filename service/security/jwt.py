"""Verifies the JWT a CDS client sends with every call (CDS_HOOKS.md section K).

Order matters: everything that can be judged without keys (header, algorithm, ``iss``, ``jku``) is
judged before any key is fetched, so an untrusted token never makes us fetch a URL it names.
Every failure is one ``Unauthorized`` whose reason the API's error handler logs and never sends.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from typing import Any

import httpx
import jwt
import orjson
import structlog

from service.errors import Unauthorized
from service.security.jwks import JwksCache, KeySetUnavailable, keys_with_kid
from service.security.replay import ReplayCache
from service.settings import Settings, TrustedIssuer

log = structlog.get_logger(__name__)

# The asymmetric algorithms we know how to bind to a key type; ``none`` and HMAC are never here (K9).
KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    **{f"{family}{bits}": ("RSA", None) for family in ("RS", "PS") for bits in (256, 384, 512)},
}
MAX_TOKEN_CHARS = 8192
MAX_JTI_CHARS = 256
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
ACCEPTED_TYP = {"JWT", "APPLICATION/JWT"}


# A compact JWS segment: the base64url alphabet, with the trailing padding some issuers add.
_SEGMENT = re.compile(rb"[A-Za-z0-9_-]+={0,2}")


def _segment(raw: bytes) -> dict[str, Any]:
    if _SEGMENT.fullmatch(raw) is None:
        raise ValueError("not base64url")
    bare = raw.rstrip(b"=")
    value = orjson.loads(base64.urlsafe_b64decode(bare + b"=" * (-len(bare) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, unverified, to choose the issuer and keys only (issue 17).

    PyJWT's own parse checks each character in a Python loop (~55 µs per token since 2.15) and
    ``jwt.decode`` parses the token again anyway when it verifies it, so routing on a strict parse of
    our own saves one of the two. Nothing here is trusted: the claims returned by verification are the
    ones PyJWT parsed, and the issuer chosen from these must match them (``issuer=`` below).
    """
    pieces = token.encode("ascii", "strict").split(b".")
    if len(pieces) != 3:
        raise ValueError("not three segments")
    return _segment(pieces[0]), _segment(pieces[1])


def _show(value: object) -> str:
    """A short printable form of an attacker-controlled value for a log reason."""
    return repr(value)[:120]


def _fits(jwk: dict[str, Any], alg: str) -> bool:
    """True when the JWK may verify ``alg``: right key type and curve, and not meant for another use."""
    kty, crv = KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        return False
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
        return False
    key_ops = jwk.get("key_ops")
    return key_ops is None or (isinstance(key_ops, list) and "verify" in key_ops)


@lru_cache(maxsize=256)
def _key_object(jwk_json: bytes, alg: str) -> jwt.PyJWK:
    """The key object of a JWK, parsed once per key content and algorithm (issue 17).

    Keyed by the JWK's canonical JSON, not by ``kid``: a key published anew under an old ``kid`` is a
    new entry, and only keys of the current key set (which :class:`JwksCache` keeps) are ever looked
    up, so the cache cannot bring back a withdrawn key. Parsing a P-384 JWK costs ~20 µs; errors are
    not cached, a broken JWK is refused every time.
    """
    return jwt.PyJWK(orjson.loads(jwk_json), algorithm=alg)


def key_object(jwk: dict[str, Any], alg: str) -> jwt.PyJWK:
    return _key_object(orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS), alg)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Authenticator:
    """Checks ``Authorization: Bearer <JWT>`` against the trusted issuers in settings."""

    def __init__(
        self,
        settings: Settings,
        replay_cache: ReplayCache,
        http: httpx.AsyncClient,
        *,
        jwks_cache: JwksCache | None = None,
    ) -> None:
        self._settings = settings
        self._replay = replay_cache
        self._algorithms = frozenset(alg for alg in settings.jwt_algorithms if alg in KEY_TYPES)
        self._issuers = {issuer.iss: issuer for issuer in settings.trusted_issuers}
        self._audience_base = settings.public_base_url.rstrip("/")
        self._jwks = jwks_cache or JwksCache(
            http,
            fetch_timeout=settings.jwks_fetch_timeout_seconds,
            cache_seconds=settings.jwks_cache_seconds,
            failures_to_open=settings.jwks_failures_to_open,
            open_seconds=settings.jwks_open_seconds,
        )

    async def authenticate(self, authorization_header: str | None, path: str) -> dict[str, Any] | None:
        """The verified claims; None when this call needs no authentication; else ``Unauthorized``."""
        header = (authorization_header or "").strip() or None
        if not self._settings.auth_required and (header is None or not self._issuers):
            return None  # development: checked only when a token is sent and issuers are configured
        if header is None:
            raise Unauthorized("no Authorization header")
        return await self._verify(header, path)

    async def _verify(self, header: str, path: str) -> dict[str, Any]:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization header is not a Bearer token")
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("token too long")
        try:  # one parse for the header and the claims that choose the keys
            jose, unverified = unverified_parts(token)
        except ValueError:  # binascii, Unicode and orjson decode errors are all ValueErrors
            raise Unauthorized("malformed token (DecodeError)") from None
        alg, kid = jose.get("alg"), jose.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise Unauthorized(f"algorithm {_show(alg)} not allowed")
        typ = jose.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() not in ACCEPTED_TYP):
            raise Unauthorized(f"typ {_show(typ)} is not JWT")
        if "crit" in jose:
            raise Unauthorized("crit header parameters are not supported")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("no kid in header")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized(f"iss {_show(iss)} is not trusted")
        keys = await self._keys(issuer, jose.get("jku"), kid)
        claims = self._decode(token, keys, alg, issuer.iss, self._audience_base + path)
        self._check_claims(claims, issuer)
        expires_at = float(claims["exp"]) + self._settings.jwt_leeway_seconds
        if not await self._replay.check_and_store(claims["jti"], issuer.iss, expires_at):
            raise Unauthorized("jti already used (replay)")
        return claims

    async def _keys(self, issuer: TrustedIssuer, jku: object, kid: str) -> list[dict[str, Any]]:
        """Candidate JWKs for ``kid``; a ``jku`` must be on the issuer's allowlist before it is fetched."""
        if jku is not None:
            if not isinstance(jku, str) or jku not in issuer.jku:
                raise Unauthorized(f"jku {_show(jku)} not allowlisted for iss {_show(issuer.iss)}")
            url = jku
        elif issuer.jwks is not None:
            return keys_with_kid(issuer.jwks, kid)
        elif issuer.jwks_url:
            url = issuer.jwks_url
        else:
            raise Unauthorized(f"no jku and no out-of-band keys for iss {_show(issuer.iss)}")
        try:
            return await self._jwks.keys_for(url, kid)
        except KeySetUnavailable as exc:
            raise Unauthorized(f"JWK Set {_show(url)} unavailable: {exc}") from None

    def _decode(self, token: str, keys: list[dict[str, Any]], alg: str, iss: str, audience: str) -> dict[str, Any]:
        """Verify signature then registered claims; with several keys for one kid, any may sign."""
        usable = [key for key in keys if _fits(key, alg)]
        if not usable:
            raise Unauthorized(f"no key with that kid fits {alg} ({len(keys)} with the kid)")
        for jwk in usable:
            try:
                key = key_object(jwk, alg)
            except Exception as exc:  # a broken JWK from the issuer is its fault, not a 500
                log.warning("auth.unusable_jwk", iss=iss, kid=jwk.get("kid"), error=type(exc).__name__)
                continue
            try:
                return jwt.decode(
                    token,
                    key=key,
                    algorithms=[alg],
                    audience=audience,
                    issuer=iss,
                    leeway=self._settings.jwt_leeway_seconds,
                    options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"claims rejected ({type(exc).__name__}: {exc})") from None
        raise Unauthorized("signature does not verify")

    def _check_claims(self, claims: dict[str, Any], issuer: TrustedIssuer) -> None:
        """Policy checks PyJWT does not make: number types, lifetime cap, jti shape, tenant."""
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not (_is_number(exp) and _is_number(iat)):
            raise Unauthorized("exp or iat is not a number")
        if exp - iat > self._settings.jwt_max_lifetime_seconds:
            raise Unauthorized(f"lifetime {exp - iat}s over the cap")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise Unauthorized("jti is not a non-empty short string")
        if issuer.tenant is not None and claims.get("tenant") != issuer.tenant:
            raise Unauthorized(f"tenant {_show(claims.get('tenant'))} does not match")
