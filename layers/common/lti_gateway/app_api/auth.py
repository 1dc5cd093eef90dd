"""Authentication of the app API (LTIAAS-compatible ``Authorization`` headers).

- ``LTIK-AUTH-V2 <API_KEY>:<LTIK>``: an ltik session, bound to one stored launch (24 h).
- ``SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>``: a service session, bound to one resource link's services.
- ``Bearer <API_KEY>``: the organisation alone (no app API route accepts it yet; it is parsed so the
  answer names the right problem).
- ``LTIK-AUTH-V1 Token=<LTIK>, Additional=Bearer <API_KEY>``: LTIAAS's older form of the ltik session.

The scheme is compared case-insensitively; the rest splits at the **first** ``:`` (API keys never
contain one). Checks, in the contract's order (``ltiaas-api.md`` §5.2): the header parses, the route
accepts this kind of session, the API key is active, the token is valid (ltik signature and expiry,
a stored unexpired launch; or a live service key), and the token's organisation is the API key's.
Organisation ids are compared with :func:`hmac.compare_digest`. Every failure is a 401 in the
contract's shape.

Revocation counts from the next call, on every container: every call reads the API key's own item,
one strongly consistent GetItem (:func:`lti_gateway.admin.orgs.authenticate_api_key`), and checks its
status and secret hash. Nothing about an API key is remembered between calls: what a cache could
save is one SHA-256, and a remembered "valid" is exactly what let a revoked key work on. A warm ltik
call therefore reads twice (the API key, then its launch context); a service session reads the API
key and the service key item.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal

from lti_gateway.admin import orgs
from lti_gateway.app_api import ltik, service_keys
from lti_gateway.app_api.errors import (
    INVALID_API_KEY,
    INVALID_AUTHORIZATION,
    INVALID_LTIK,
    INVALID_SERVICE_KEY,
    MISSING_AUTHORIZATION,
)
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.core import clock
from lti_gateway.core.errors import ApiError, Unauthorized
from lti_gateway.repositories import deps

Kind = Literal["ltik", "service", "bearer"]
LTIK: Kind = "ltik"
SERVICE: Kind = "service"
BEARER: Kind = "bearer"
MAX_AUTHORIZATION = 4096
_SCHEMES: dict[str, Kind] = {"ltik-auth-v2": LTIK, "service-auth-v1": SERVICE, "bearer": BEARER}
_V1 = re.compile(r"^Token=(?P<token>[^,\s]+)\s*,\s*Additional=Bearer\s+(?P<key>\S+)$", re.IGNORECASE)
_NEEDS = {
    LTIK: (INVALID_LTIK, "This endpoint needs Authorization: LTIK-AUTH-V2 <API_KEY>:<LTIK>."),
    SERVICE: (INVALID_SERVICE_KEY, "This endpoint needs Authorization: SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>."),
    BEARER: (INVALID_AUTHORIZATION, "This endpoint needs Authorization: Bearer <API_KEY>."),
}


@dataclass(frozen=True)
class AppSession:
    kind: Kind
    principal: orgs.Principal
    launch_id: str | None = None
    launch: dict[str, Any] | None = None  # the stored launch context (ltik sessions)
    service: ServiceContext | None = None  # what the session may call (ltik and service sessions)
    service_key_item: dict[str, Any] | None = None  # service sessions

    @property
    def org_id(self) -> str:
        return self.principal.org_id


def _fail(message: str, description: str) -> ApiError:
    return ApiError(401, message, description)


def parse(authorization: str | None) -> tuple[Kind, str, str]:
    """``(kind, api_key, token)`` of an Authorization header; 401 when absent or malformed."""
    if not authorization or not authorization.strip():
        raise _fail(MISSING_AUTHORIZATION, "Send Authorization: LTIK-AUTH-V2 <API_KEY>:<LTIK>.")
    if len(authorization) > MAX_AUTHORIZATION:
        raise _fail(INVALID_AUTHORIZATION, "The Authorization header is too long.")
    scheme, _, rest = authorization.strip().partition(" ")
    rest = rest.strip()
    lowered = scheme.lower()
    if lowered == "ltik-auth-v1":
        match = _V1.match(rest)
        if not match:
            raise _fail(INVALID_LTIK, "Malformed LTIK-AUTH-V1 header.")
        return LTIK, match["key"], match["token"]
    kind = _SCHEMES.get(lowered)
    if kind is None:
        raise _fail(INVALID_AUTHORIZATION, "Unknown Authorization scheme.")
    if kind == BEARER:
        if not rest or any(c.isspace() for c in rest):
            raise _fail(INVALID_API_KEY, "Invalid API key.")
        return kind, rest, ""
    api_key, sep, token = rest.partition(":")
    if not sep or not api_key or not token:
        raise _fail(_NEEDS[kind][0], "Expected <API_KEY>:<TOKEN> after the scheme.")
    return kind, api_key, token


def _api_key_principal(api_key: str) -> orgs.Principal:
    """The API key's principal from its item, read now (never remembered: see the module docstring)."""
    try:
        return orgs.authenticate_api_key(api_key)
    except Unauthorized:
        raise _fail(INVALID_API_KEY, "Invalid API key.") from None


def _same_org(a: str, b: Any) -> bool:
    return isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


def authenticate(authorization: str | None, *, allow: tuple[Kind, ...]) -> AppSession:
    """The session an Authorization header opens for a route that accepts ``allow``; 401 otherwise."""
    kind, api_key, token = parse(authorization)
    if kind not in allow:
        raise _fail(*_NEEDS[allow[0]])
    principal = _api_key_principal(api_key)
    if kind == BEARER:
        return AppSession(BEARER, principal)
    if kind == LTIK:
        return _ltik_session(principal, token)
    return _service_session(principal, token)


def _ltik_session(principal: orgs.Principal, token: str) -> AppSession:
    try:
        claims = ltik.verify(token)
    except Unauthorized:
        raise _fail(INVALID_LTIK, "Invalid or expired ltik.") from None
    launch = deps.launch_repo().get_launch_context(claims.launch_id, now=int(clock.now()))
    if launch is None:
        raise _fail(INVALID_LTIK, "Invalid or expired ltik.")
    if not (_same_org(principal.org_id, claims.org_id) and _same_org(principal.org_id, launch.get("org_id"))):
        raise _fail(INVALID_API_KEY, "The API key does not belong to the organisation of this launch.")
    service = ServiceContext.from_launch(launch, claims.launch_id)
    return AppSession(LTIK, principal, claims.launch_id, launch, service)


def _service_session(principal: orgs.Principal, token: str) -> AppSession:
    item = service_keys.lookup(token)
    if item is None:
        raise _fail(INVALID_SERVICE_KEY, "Invalid or revoked service key.")
    if not _same_org(principal.org_id, item.get("org_id")):
        raise _fail(INVALID_API_KEY, "The API key does not belong to the organisation of this service key.")
    service = service_keys.context_of(item)
    return AppSession(SERVICE, principal, service.launch_id, None, service, item)
