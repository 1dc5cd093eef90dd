"""Platform access tokens for LTI Advantage services (AGS, NRPS): OAuth 2 client credentials with a
JWT client assertion signed by the tool key (1EdTech Security Framework §4.1, RFC 7523).

- Assertion: ``iss`` = ``sub`` = client id, ``aud`` = the registration's authorization server (or the
  token URL when it names none), ``iat``, ``exp`` = iat + 5 min, a random ``jti``; RS256 with the
  tool key's ``kid`` in the header (:func:`lti_gateway.lti13.tool_keys.sign`).
- Cache: per warm container in memory, and across containers in the launch table
  (``PLATFORMTOKEN#{sha256(issuer, client id, scopes)}``, sealed with KMS, TTL at its expiry), reused
  until :data:`REFRESH_MARGIN_SECONDS` before it expires. :func:`invalidate` drops it (an LMS 401).
- Only the registration's own token URL is ever called; the token only ever goes to the origins
  :mod:`lti_gateway.app_api.platform_services` allows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from lti_gateway.app_api.errors import platform_failed
from lti_gateway.core import clock, runtime
from lti_gateway.core.errors import ApiError, OutboundRefused
from lti_gateway.core.http_client import SafeHttp
from lti_gateway.repositories import deps

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 300
REFRESH_MARGIN_SECONDS = 60
DEFAULT_EXPIRES_IN = 3600
MAX_EXPIRES_IN = 24 * 3600
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class TokenEndpoint:
    issuer: str
    client_id: str
    token_url: str
    audience: str  # the authorization server, or the token URL
    # Whose key set signs the client assertion: the organisation that owns the registration (None: a
    # registration made before tenant scoping, the stack-wide set its LMS was given).
    key_owner: str | None = None


_lock = threading.Lock()
_memory: dict[str, tuple[int, str]] = {}


def cache_key(endpoint: TokenEndpoint, scopes: tuple[str, ...]) -> str:
    identity = json.dumps(
        [endpoint.issuer, endpoint.client_id, endpoint.token_url, sorted(set(scopes)), endpoint.key_owner]
    )
    return hashlib.sha256(identity.encode()).hexdigest()


def _bound(key: str) -> str:
    return f"platform-token:{key}"


def client_assertion(endpoint: TokenEndpoint, *, now: int | None = None) -> str:
    from lti_gateway.lti13 import tool_keys

    issued = int(clock.now() if now is None else now)
    claims = {
        "iss": endpoint.client_id,
        "sub": endpoint.client_id,
        "aud": endpoint.audience,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
        "jti": secrets.token_urlsafe(24),
    }
    return tool_keys.sign(claims, owner=endpoint.key_owner, headers={"typ": "JWT"})


def access_token(endpoint: TokenEndpoint, scopes: tuple[str, ...], *, http: SafeHttp) -> str:
    """A valid access token for ``scopes`` (cached, or fetched now)."""
    key = cache_key(endpoint, scopes)
    now = int(clock.now())
    hit = _memory.get(key)
    if hit and hit[0] - REFRESH_MARGIN_SECONDS > now:
        return hit[1]
    repo = deps.app_tokens_repo()
    item = repo.get_token(key, now=now + REFRESH_MARGIN_SECONDS)
    if item is not None:
        token = deps.secret_box().open(str(item["token_sealed"]), bound_to=_bound(key))
        with _lock:
            _memory[key] = (int(item["expires_at"]), token)
        return token
    token, expires_in = _request(endpoint, scopes, http=http)
    expires_at = now + expires_in
    if expires_in > REFRESH_MARGIN_SECONDS:
        sealed = deps.secret_box().seal(token, bound_to=_bound(key))
        repo.put_token(
            key,
            {
                "kind": "platform_token",
                "issuer": endpoint.issuer,
                "client_id": endpoint.client_id,
                "token_sealed": sealed,
            },
            expires_at=expires_at,
        )
        with _lock:
            _memory[key] = (expires_at, token)
    return token


def invalidate(endpoint: TokenEndpoint, scopes: tuple[str, ...]) -> None:
    key = cache_key(endpoint, scopes)
    with _lock:
        _memory.pop(key, None)
    deps.app_tokens_repo().delete_token(key)


def _request(endpoint: TokenEndpoint, scopes: tuple[str, ...], *, http: SafeHttp) -> tuple[str, int]:
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(endpoint),
            "scope": " ".join(sorted(set(scopes))),
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    url = endpoint.token_url
    try:
        answer = http.request("POST", url, body=form.encode(), headers=headers)
    except OutboundRefused as refused:
        raise platform_failed(f"The platform's token endpoint could not be called ({refused.kind}).", url=url) from None
    except OSError:
        raise platform_failed("The platform's token endpoint did not answer.", url=url) from None
    if not 200 <= answer.status < 300:
        raise platform_failed(
            f"The platform's token endpoint refused the client credentials grant (HTTP {answer.status}).",
            url=url,
            body=answer.body,
        )
    try:
        data: Any = json.loads(answer.body)
    except (ValueError, RecursionError):
        data = None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise platform_failed("The platform's token endpoint answered no usable access_token.", url=url)
    expires_in = data.get("expires_in", DEFAULT_EXPIRES_IN)
    try:
        expires_in = int(expires_in)
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    return token, max(0, min(expires_in, MAX_EXPIRES_IN))


def endpoint_for(
    issuer: str, client_id: str, token_url: Any, auth_server: Any = None, *, key_owner: str | None = None
) -> TokenEndpoint:
    if not isinstance(token_url, str) or not token_url:
        raise ApiError(
            403,
            "SERVICE_NOT_AVAILABLE_FOR_CONTEXT",
            "The platform registration has no access token URL.",
        )
    audience = auth_server if isinstance(auth_server, str) and auth_server else token_url
    return TokenEndpoint(issuer, client_id, token_url, audience, key_owner)


@runtime.register
def clear_cache() -> None:
    with _lock:
        _memory.clear()
