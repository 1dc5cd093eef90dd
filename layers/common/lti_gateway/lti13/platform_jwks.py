"""A platform's public keys, for verifying its id_tokens: its JWKS URL fetched and cached, or a static key.

Rules (docs/architecture.md, docs/security.md):

* The JWKS URL comes from the platform registration only, never from a token (``jku``/``x5u`` are
  ignored), and is fetched with :class:`~lti_gateway.core.http_client.SafeHttp`: https only, no private
  addresses, no redirects, at most 3 s and 64 KiB (http and loopback only under the local setting).
* Parsed keys are cached per container by (issuer, JWKS URL) and kid, so a warm launch parses no key
  and makes no HTTP call. The URL is part of the cache key: two organisations may register the same
  issuer (every hosted Canvas is ``https://canvas.instructure.com``) and one must not be able to
  plant a key, under a kid of its choosing, that the other's launches would then trust.
* An unknown kid refetches the set, at most once per source every :data:`REFETCH_INTERVAL_SECONDS`
  (a flood of made-up kids costs one fetch per 30 s). A set older than :data:`MAX_AGE_SECONDS` is
  refreshed on next use, so a key the platform withdrew stops verifying within the hour.
* A failed fetch keeps the last good set; with no good set at all it is a 502 ``jwks_unavailable``.
* Only RSA signing keys for RS256 of at least 2048 bits are kept; others in the set are skipped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from lti_gateway.core.errors import JwksUnavailable, OutboundRefused
from lti_gateway.core.http_client import SafeHttp

FETCH_TIMEOUT_SECONDS = 3.0
MAX_JWKS_BYTES = 64 * 1024
REFETCH_INTERVAL_SECONDS = 30.0
MAX_AGE_SECONDS = 3600.0
MIN_RSA_BITS = 2048
MAX_SOURCES = 512
ALGORITHM = "RS256"


class KeySource(Protocol):
    """What :class:`PlatformKeys` needs of a registration (``platforms.Registration`` has it)."""

    @property
    def issuer(self) -> str: ...

    @property
    def jwks_url(self) -> str | None: ...

    @property
    def public_key(self) -> str | None: ...


# -- parsing ------------------------------------------------------------------------------------------


def _usable_rsa(key: Any) -> bool:
    return isinstance(key, RSAPublicKey) and key.key_size >= MIN_RSA_BITS


def parse_jwk(jwk: Mapping[str, Any]) -> Any | None:
    """One JWK as a cryptography public key, or None if it is not an RS256 signing key we accept."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
        return None
    if jwk.get("use") not in (None, "sig") or jwk.get("alg") not in (None, ALGORITHM):
        return None
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    return key if _usable_rsa(key) else None


def parse_jwks(document: Any) -> dict[str, Any]:
    """``{"keys": [...]}`` as kid -> public key; keys without a kid or not usable are skipped."""
    keys: dict[str, Any] = {}
    entries = document.get("keys") if isinstance(document, Mapping) else None
    for jwk in entries if isinstance(entries, list) else []:
        kid = jwk.get("kid") if isinstance(jwk, Mapping) else None
        if isinstance(kid, str) and kid and kid not in keys:
            key = parse_jwk(jwk)
            if key is not None:
                keys[kid] = key
    return keys


ANY_KID = ""  # a static key without a kid verifies whatever kid the header names


def parse_static_key(text: str) -> dict[str, Any]:
    """A registration's static key: PEM (public key or certificate), a JWK or a JWKS, as kid -> key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN CERTIFICATE"):
            key: Any = x509.load_pem_x509_certificate(text.encode()).public_key()
            return {ANY_KID: key} if _usable_rsa(key) else {}
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
            return {ANY_KID: key} if _usable_rsa(key) else {}
        document = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if isinstance(document, Mapping) and "keys" in document:
        return parse_jwks(document)
    key = parse_jwk(document) if isinstance(document, Mapping) else None
    if key is None:
        return {}
    kid = document.get("kid")
    return {kid if isinstance(kid, str) and kid else ANY_KID: key}


# -- the cache ----------------------------------------------------------------------------------------


@dataclass
class _KeySet:
    keys: dict[str, Any] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch (monotonic)
    attempted_at: float | None = None  # last fetch attempt (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PlatformKeys:
    """Public keys of registered platforms, cached across warm invocations (one per container)."""

    def __init__(
        self,
        http: SafeHttp | Callable[[], SafeHttp],
        *,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
        max_age: float = MAX_AGE_SECONDS,
    ):
        self._http = http
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._max_age = max_age
        self._sets: dict[tuple[str, str], _KeySet] = {}
        self._static: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # how many JWKS fetches were attempted (tests and benchmarks read it)

    def key_for(self, registration: KeySource, kid: str) -> Any | None:
        """The platform's public key named ``kid``; None when the platform has no such key."""
        if registration.jwks_url:
            return self._from_jwks(registration.issuer, registration.jwks_url, kid)
        if registration.public_key:
            keys = self._static.get(registration.public_key)
            if keys is None:
                keys = parse_static_key(registration.public_key)
                with self._lock:
                    if len(self._static) >= MAX_SOURCES:
                        self._static.clear()
                    self._static[registration.public_key] = keys
            return keys.get(kid, keys.get(ANY_KID))
        return None

    def _entry(self, source: tuple[str, str]) -> _KeySet:
        entry = self._sets.get(source)  # a warm launch: one dict read, no lock
        if entry is not None:
            return entry
        with self._lock:
            entry = self._sets.get(source)
            if entry is None:
                if len(self._sets) >= MAX_SOURCES:
                    self._sets.clear()
                entry = self._sets[source] = _KeySet()
            return entry

    def _from_jwks(self, issuer: str, url: str, kid: str) -> Any | None:
        entry = self._entry((issuer, url))
        if kid in entry.keys and self._fresh(entry):
            return entry.keys[kid]
        with entry.lock:  # one fetch per source at a time; the others wait and reuse its answer
            now = self._clock()
            may_fetch = entry.attempted_at is None or now - entry.attempted_at >= self._refetch_interval
            if may_fetch and (kid not in entry.keys or not self._fresh(entry)):
                entry.attempted_at = now
                keys = self._fetch(url)
                if keys:
                    entry.keys, entry.fetched_at = keys, now
            if entry.fetched_at is None:
                raise JwksUnavailable({"jwks_url": url, "reason": "no usable key set could be fetched"})
            return entry.keys.get(kid)

    def _fresh(self, entry: _KeySet) -> bool:
        return entry.fetched_at is not None and self._clock() - entry.fetched_at < self._max_age

    def _fetch(self, url: str) -> dict[str, Any]:
        """The usable keys at ``url``; {} on any failure (the caller keeps what it had)."""
        self.fetches += 1
        http = self._http if isinstance(self._http, SafeHttp) else self._http()
        try:
            answer = http.request("GET", url, headers={"Accept": "application/json"})
        except (OutboundRefused, OSError, ValueError):  # refused, timeout, connection failure, bad URL
            return {}
        if answer.status != 200:
            return {}
        try:
            return parse_jwks(json.loads(answer.body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return {}

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()
            self._static.clear()


def safe_http(*, allow_insecure: bool) -> SafeHttp:
    """The JWKS client: 3 s, 64 KiB; http and private addresses only for the local/test setting."""
    return SafeHttp(
        timeout=FETCH_TIMEOUT_SECONDS,
        max_response_bytes=MAX_JWKS_BYTES,
        allow_http=allow_insecure,
        allow_private_addresses=allow_insecure,
    )
