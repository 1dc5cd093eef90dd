"""Owner console sessions: a browser signed in with an API key, or with a one-time link.

- **Signing in** (``POST /console/session``): with an API key (checked by
  :func:`lti_gateway.admin.orgs.authenticate_api_key`, so a revoked or wrong key is refused exactly like
  a bearer call), or with a one-time link token. The answer sets the session cookie.
- **The session token** is 256 random bits, handed to the browser only in an HttpOnly, SameSite=Strict
  cookie (``__Host-lti_gateway_console`` when the public base URL is https, Secure; without the prefix
  on plain http, local runs only). The launch table keeps only its SHA-256, with the organisation, the
  credential it came from, the role and, for an instructor's class link, the class. It lives 12 hours
  at most; DynamoDB's TTL sweeps it, and every read compares ``expires_at`` too.
- **Revocation**: every request through a session re-reads its credential (one GetItem); a revoked API
  key ends every session it opened (401 ``api_key_revoked``). Signing out deletes the session item.
- **CSRF**: HMAC-SHA256 keyed with the session token over ``console-csrf``, hex. Nothing extra is
  stored; it is checked from the cookie alone, before anything is read. The page learns it from the
  session's JSON and sends it as ``X-CSRF-Token`` on every call that is not a GET or HEAD.
- **One-time links** (``/console#link=<token>``, the token in the fragment so it never reaches a log):
  256 random bits, stored hashed, 5 minutes, consumed by one conditional delete. An owner's or
  member's (:func:`create_sign_in_link`, used by ``make run``) opens a session of that role; an
  instructor's, made by the app for a launch (:func:`create_class_link`), opens a class-scoped session
  (role ``instructor``) that may only read and edit its one class (:func:`check_class_scope`).

No token (API key, session, link, CSRF) is ever logged or put in an error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from lti_gateway.admin.orgs import Principal, authenticate_api_key
from lti_gateway.core import clock, validation
from lti_gateway.core.config import settings
from lti_gateway.core.errors import Forbidden, Unauthorized, UnsupportedMediaType, ValidationFailed
from lti_gateway.core.http import request_cookies, request_header
from lti_gateway.repositories import deps

COOKIE_NAME = "lti_gateway_console"
SECURE_COOKIE_PREFIX = "__Host-"  # Secure, Path=/, no Domain: only this host can have set it
SESSION_SECONDS = 12 * 3600
LINK_SECONDS = 5 * 60
INSTRUCTOR = "instructor"
CSRF_HEADER = "x-csrf-token"
_CSRF_LABEL = b"console-csrf"
MAX_API_KEY = 512
MAX_TOKEN = 128  # a session or link token is 43 characters; anything much longer is not one
_SAFE_METHODS = frozenset({"GET", "HEAD"})
# What a class-scoped session may call: route keys (API Gateway's ``routeKey``) of its own class.
CLASS_SCOPE_ROUTES = frozenset(
    {
        "GET /api/classes/{class_id}",
        "PATCH /api/classes/{class_id}",
        "GET /api/classes/{class_id}/units",
        "GET /api/classes/{class_id}/units/{unit_id}",
        "GET /api/classes/{class_id}/lti-settings",
    }
)


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: who it signs in as, its class (an instructor's class link only), until when."""

    principal: Principal
    class_id: str | None
    expires_at: int
    csrf_token: str


def _bytes(token: str) -> bytes:
    return token.encode("utf-8", "surrogatepass")  # a cookie value is never trusted to be well-formed


def _hash(token: str) -> str:
    return hashlib.sha256(_bytes(token)).hexdigest()


def csrf_token(session_token: str) -> str:
    """HMAC-SHA256(session token, ``console-csrf``), hex: derived, never stored."""
    return hmac.new(_bytes(session_token), _CSRF_LABEL, hashlib.sha256).hexdigest()


# -- the cookie -----------------------------------------------------------------------------------------


def secure_cookies() -> bool:
    """https unless the public base URL says plain http (the local gateway)."""
    base = settings().public_base_url or "https://"
    return base.lower().startswith("https:")


def cookie_name() -> str:
    return (SECURE_COOKIE_PREFIX if secure_cookies() else "") + COOKIE_NAME


def session_cookie(token: str, *, max_age: int) -> Cookie:
    """The session cookie (``max_age`` 0 with an empty ``token``: the one that clears it)."""
    secure = secure_cookies()
    return Cookie(
        name=cookie_name(),
        value=token,
        path="/",
        secure=secure,
        http_only=True,
        max_age=max(0, min(int(max_age), SESSION_SECONDS)),
        same_site=SameSite.STRICT_MODE,
    )


def clearing_cookie() -> Cookie:
    return session_cookie("", max_age=0)


def session_token(event: Mapping[str, Any]) -> str | None:
    """The session token the request's cookie carries (the first non-empty one), or None."""
    for value in request_cookies(event, cookie_name()):
        if value:
            return value
    return None


def check_csrf(event: Mapping[str, Any], token: str) -> None:
    """For a method other than GET/HEAD, ``X-CSRF-Token`` must be the session's CSRF token: 403
    ``csrf_token_missing`` / ``csrf_token_invalid``. Needs only the cookie: nothing is read."""
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()
    if method in _SAFE_METHODS:
        return
    sent = request_header(event, CSRF_HEADER)
    if not sent:
        raise Forbidden("send the session's csrf_token in the X-CSRF-Token header", code="csrf_token_missing")
    if not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), csrf_token(token).encode()):
        raise Forbidden("X-CSRF-Token is not this session's csrf_token", code="csrf_token_invalid")


_OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def _netloc(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:
        return None


def check_sign_in_request(event: Mapping[str, Any]) -> None:
    """A sign-in (``POST /console/session``) comes from the console page itself or from a script, never
    from a page of another origin (login CSRF: signing the browser in to the attacker's organisation).
    403 ``cross_origin_request`` when the browser says so (``Sec-Fetch-Site`` other than same-origin or
    none; an ``Origin`` other than this gateway's: the public base URL's, the host the request reached);
    415 without ``Content-Type: application/json`` (what a page of another origin cannot send without a
    CORS preflight, which nothing here answers). Checked before anything is read."""
    site = request_header(event, "sec-fetch-site")
    if site is not None and site.lower() not in _OWN_FETCH_SITES:
        raise Forbidden("sign in from the console page itself", code="cross_origin_request")
    origin = request_header(event, "origin")
    if origin is not None:
        context = event.get("requestContext") or {}
        own = {
            _netloc(settings().public_base_url or ""),
            _netloc(f"https://{request_header(event, 'host') or ''}"),
            _netloc(f"https://{context.get('domainName') or ''}" if isinstance(context, Mapping) else ""),
        } - {None}
        if _netloc(origin) not in own:
            raise Forbidden("sign in from the console page itself", code="cross_origin_request")
    media_type = (request_header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")


def check_class_scope(session: ConsoleSession, event: Mapping[str, Any]) -> None:
    """A class-scoped session calls only the routes of :data:`CLASS_SCOPE_ROUTES` for its own class;
    anything else is 403 ``class_scope``."""
    if session.class_id is None:
        return
    route = event.get("routeKey")
    parameters = event.get("pathParameters")
    class_id = parameters.get("class_id") if isinstance(parameters, Mapping) else None
    if route not in CLASS_SCOPE_ROUTES or class_id != session.class_id:
        raise Forbidden("this console session may only open its own class", code="class_scope")


# -- sessions -----------------------------------------------------------------------------------------


def _credential_active(credential_id: str, org_id: str) -> None:
    """One GetItem: the credential a session or link came from is still active, else 401
    ``api_key_revoked``; and it is a credential of the session's organisation, else (an item that does
    not add up: fail closed) 401 ``session_expired``."""
    item = deps.keys_repo().get_credential(credential_id)
    if item is not None and item.get("org_id") != org_id:
        raise Unauthorized("this console session has expired or ended; sign in again", code="session_expired")
    if item is None or item.get("status") != "active":
        raise Unauthorized("the API key this session came from has been revoked", code="api_key_revoked")


def authenticate_session(token: str | None, *, missing_code: str = "session_expired") -> ConsoleSession:
    """The live session of cookie value ``token``: one GetItem for the session, one for its credential.
    Unknown, expired or signed out: 401 ``session_expired`` (``missing_code`` when there is no cookie at
    all); its credential revoked: 401 ``api_key_revoked``. Fails closed."""
    if not token:
        raise Unauthorized("sign in to the console first", code=missing_code)
    now = int(clock.now())
    item = None
    if len(token) <= MAX_TOKEN and validation.text_problem(token) is None:
        item = deps.console_sessions_repo().get_session(_hash(token), now=now)
    if item is None:
        raise Unauthorized("this console session has expired or ended; sign in again", code="session_expired")
    _credential_active(str(item["credential_id"]), str(item["org_id"]))
    principal, class_id = _granted(item)
    return ConsoleSession(principal, class_id, int(item["expires_at"]), csrf_token(token))


def _grant(principal: Principal, class_id: str | None, lifetime: int) -> tuple[str, dict[str, Any], int]:
    """A new token, the item a session or a link keeps under its hash, and when it expires."""
    now = clock.now()
    item = {
        "org_id": principal.org_id,
        "credential_id": principal.credential_id,
        "role": principal.role,
        "class_id": class_id,
        "created_at": clock.iso(now),
    }
    return secrets.token_urlsafe(32), item, int(now) + lifetime


def _granted(item: Mapping[str, Any]) -> tuple[Principal, str | None]:
    """Who a stored session or link signs in as, and its class (an instructor's class link only)."""
    principal = Principal(org_id=str(item["org_id"]), credential_id=str(item["credential_id"]), role=str(item["role"]))
    class_id = item.get("class_id")
    return principal, str(class_id) if class_id else None


def _new_session(principal: Principal, class_id: str | None) -> tuple[str, ConsoleSession]:
    token, item, expires_at = _grant(principal, class_id, SESSION_SECONDS)
    deps.console_sessions_repo().put_session(_hash(token), item, expires_at=expires_at)
    return token, ConsoleSession(principal, class_id, expires_at, csrf_token(token))


def _secret_field(body: Mapping[str, Any], name: str, max_len: int) -> str:
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({name: "must be a non-empty string"})
    if len(value) > max_len:
        raise ValidationFailed({name: f"must be at most {max_len} characters"})
    return validation.well_formed(name, value).strip()


def sign_in(body: Mapping[str, Any]) -> tuple[str, ConsoleSession]:
    """``{"api_key": …}`` or ``{"link": …}`` → (the new session's token, the session). 400 for a body
    that is neither, 401 ``invalid_api_key`` / ``api_key_revoked`` / ``link_invalid``."""
    validation.reject_unknown(body, ("api_key", "link"))
    if ("api_key" in body) == ("link" in body):
        raise ValidationFailed("send exactly one of api_key or link", code="validation_failed")
    if "api_key" in body:
        principal = authenticate_api_key(_secret_field(body, "api_key", MAX_API_KEY))
        return _new_session(principal, None)
    link = _secret_field(body, "link", MAX_TOKEN)
    item = deps.console_sessions_repo().take_link(_hash(link), now=int(clock.now()))
    if item is None:
        raise Unauthorized("this sign-in link is unknown, already used or expired", code="link_invalid")
    _credential_active(str(item["credential_id"]), str(item["org_id"]))
    return _new_session(*_granted(item))


def sign_out(token: str) -> None:
    deps.console_sessions_repo().delete_session(_hash(token))


def view(session: ConsoleSession) -> dict[str, Any]:
    """What ``POST``/``GET /console/session`` answer (the CSRF token included: the page needs it)."""
    org = deps.keys_repo().get_organisation(session.principal.org_id)
    return {
        "org_id": session.principal.org_id,
        "org_name": (org or {}).get("name"),
        "role": session.principal.role,
        "credential_id": session.principal.credential_id,
        "class_id": session.class_id,
        "csrf_token": session.csrf_token,
        "expires_at": clock.iso(session.expires_at),
    }


def max_age(session: ConsoleSession) -> int:
    return max(0, min(SESSION_SECONDS, session.expires_at - int(clock.now())))


# -- one-time links -----------------------------------------------------------------------------------


def _create_link(principal: Principal, class_id: str | None, base: str) -> dict[str, Any]:
    token, item, expires_at = _grant(principal, class_id, LINK_SECONDS)
    deps.console_sessions_repo().put_link(_hash(token), item, expires_at=expires_at)
    return {"url": f"{base.rstrip('/')}/console#link={token}", "expires_at": clock.iso(expires_at)}


def create_sign_in_link(principal: Principal, *, base: str) -> dict[str, Any]:
    """A one-time link (5 minutes) that signs a browser in as ``principal`` (its role): ``{"url",
    "expires_at"}``, the url ``{base}/console#link=<token>``."""
    return _create_link(principal, None, base)


def create_class_link(org_id: str, credential_id: str, class_id: str, *, base: str) -> dict[str, Any]:
    """A one-time link (5 minutes) opening an instructor's session scoped to ``class_id``, for the
    credential ``credential_id`` of ``org_id`` (revoking it ends the session): ``{"url", "expires_at",
    "class_id"}``."""
    principal = Principal(org_id=org_id, credential_id=credential_id, role=INSTRUCTOR)
    return {**_create_link(principal, class_id, base), "class_id": class_id}
