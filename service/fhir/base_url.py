"""FHIR base URLs parsed into scheme + host + port + path segments, for allowlists and policy.

Kept free of settings and HTTP imports: the settings parse the allowlist with it at start-up.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]+")
DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidBaseUrl(ValueError):
    """The text is not an absolute http(s) URL with a host and a plain path."""


@dataclass(frozen=True)
class BaseUrl:
    """A FHIR base URL reduced to what identifies it: one scheme, host, port and path."""

    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]

    def contains(self, other: BaseUrl) -> bool:
        """True when ``other`` is this base or a path below it on the same origin."""
        return (
            (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)
            and other.segments[: len(self.segments)] == self.segments
        )

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_base_url(text: str) -> BaseUrl:
    """Parse ``text`` strictly; raises :class:`InvalidBaseUrl` with a reason that does not echo it.

    Refused: other schemes, no host, user info, query or fragment, backslashes, control characters or
    spaces, and dot segments (``..`` or ``.``, also percent-encoded) or encoded slashes, which clients
    and servers resolve differently and could lead out of an allowlisted path.
    """
    if not isinstance(text, str) or len(text) > 2048:
        raise InvalidBaseUrl("not a URL of at most 2048 characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in text):
        raise InvalidBaseUrl("contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidBaseUrl("not a parsable URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidBaseUrl("not an http(s) URL")
    if not host:
        raise InvalidBaseUrl("has no host")
    host = host.lower()
    if not _HOST.fullmatch(host):
        raise InvalidBaseUrl("has a host that is not a plain DNS name or IP address (use punycode)")
    if "@" in parts.netloc:
        raise InvalidBaseUrl("carries user information")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidBaseUrl("has a query or fragment")
    segments = tuple(segment for segment in parts.path.split("/") if segment)
    for segment in segments:
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise InvalidBaseUrl("has dot segments or encoded slashes in its path")
    return BaseUrl(scheme, host, port or DEFAULT_PORTS[scheme], segments)


def parse_allowlist(entries: list[str]) -> list[BaseUrl]:
    """The allowlist as parsed bases; raises ValueError naming the first bad entry's position."""
    parsed = []
    for index, entry in enumerate(entries):
        try:
            parsed.append(parse_base_url(entry))
        except InvalidBaseUrl as exc:
            raise ValueError(f"entry {index + 1} ({entry[:80]!r}) {exc}") from exc
    return parsed
