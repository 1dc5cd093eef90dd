"""LTI 1.3 OIDC third-party initiated login: ``GET|POST /lti/orgs/{org_id}/login`` (legacy ``/lti/login``)
→ 302 to the platform's auth endpoint.

    iss, login_hint, target_link_uri              required
    client_id, lti_deployment_id                  optional (client_id needed when an issuer has several)
    lti_message_hint                              optional, passed on untouched (it may be a JWT)
    lti_storage_target                            the platform offers client-side storage (see below)
    anything else (canvas_region, …)              passed on to the auth endpoint untouched, unless it is a
                                                  name of the OIDC authentication request itself

Steps: the registration by iss (+ client_id), among the registrations of the organisation the login URL
names (legacy URL: registrations made before tenant scoping) → ``lti_deployment_id``, when sent, is one of its
deployments → ``target_link_uri`` is a launch URL of this gateway (same origin as our base, path
``/lti/launch`` or below) → a fresh ``state`` and ``nonce`` (256 bits each, :mod:`secrets`) stored
server-side (``STATE#{state}``, 10 minutes, conditional put) → 302 to ``auth_login_url`` with
``scope=openid, response_type=id_token, response_mode=form_post, prompt=none, client_id,
redirect_uri, login_hint, lti_message_hint, state, nonce``.

The ``redirect_uri`` is the organisation's ``{base}/lti/orgs/{org_id}/launch`` (legacy login:
``{base}/lti/launch``) for the base the ``target_link_uri`` is on: one redirect URI per organisation,
whatever class or unit is launched, which is what an admin registers.

The login is bound to the browser that started it (issue 13, item 8): a state that reaches the
launch from another browser — an attacker making a victim's browser post the attacker's own
``id_token`` and ``state`` — is refused, in one of two ways (:func:`browser_check`):

- **a cookie**: the login sets ``__Host-lti_state_<id>`` (``lti_state_<id>`` on plain http, for local
  runs), ``<id>`` 16 hex digits of SHA-256 of the state (one cookie per login, so parallel launches in
  one browser never overwrite each other), HttpOnly, Secure, SameSite=None (the launch is a cross-site
  POST from the LMS), Partitioned (CHIPS: kept inside the LMS's iframe where third-party cookies are
  blocked), Path=/, Max-Age the state's lifetime. Its value is a fresh 256-bit secret; the state item
  keeps only its SHA-256 (``browser_binding``). At the launch a cookie of that name whose hash matches
  is accepted; one that does not match is refused (``state_not_from_this_browser``);
- **the platform's storage**, when the cookie is absent (third-party cookies blocked) and the login
  came with ``lti_storage_target``: the login page put the state into the platform's storage frame
  (``lti.put_data``, :mod:`platform_storage`), so the launch answers a small page
  (:func:`platform_storage.launch_check_response`) that reads it back with ``lti.get_data`` in *this*
  browser and posts the launch again, same-origin, with what it read and the state's one-time
  ``storage_proof``. That second POST is accepted only when the value read is the state, the proof is
  the state's, and the POST comes from our own origin (``Origin``, else ``Sec-Fetch-Site:
  same-origin``): a cross-site form post carries the attacker's origin, and the victim's platform
  storage never held the attacker's state.

No cookie and no platform storage: refused (``browser_not_bound``), with a page telling the user to
allow this tool's cookies or open it in a new window. The check runs after every other check of the
launch and before the state is consumed, so a refused launch leaves the state for its own browser.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from lti_gateway.core import clock
from lti_gateway.core.errors import IdTokenRejected, LoginRejected, ValidationFailed
from lti_gateway.core.http import request_cookies, request_header

STATE_LIFETIME_SECONDS = 600
LAUNCH_PATH = "/lti/launch"
LOGIN_PATH = "/lti/login"
# An organisation's own LTI 1.3 URLs: /lti/orgs/{org_id}/login, /lti/orgs/{org_id}/launch (and its JWKS).
ORG_PATH_PREFIX = "/lti/orgs"
ORG_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
ORG_PATH_RE = re.compile(r"/lti/orgs/(?P<org>[A-Za-z0-9_-]{1,64})/launch")

MAX_PARAM = {
    "iss": 1024,
    "login_hint": 4096,
    "target_link_uri": 2048,
    "lti_message_hint": 8192,
    "client_id": 1024,
    "lti_deployment_id": 1024,
    "lti_storage_target": 256,
}
REQUIRED = ("iss", "login_hint", "target_link_uri")
# Names of the OIDC authentication request (and of the login itself): never taken from the caller.
RESERVED = frozenset(
    {
        *MAX_PARAM,
        "scope",
        "response_type",
        "response_mode",
        "prompt",
        "redirect_uri",
        "state",
        "nonce",
        "id_token_hint",
        "request",
        "request_uri",
        "claims",
        "max_age",
        "ui_locales",
        "acr_values",
        "display",
        "registration",
        "code_challenge",
        "code_challenge_method",
    }
)
_EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_EXTRA_PARAMS = 20
MAX_EXTRA_VALUE = 1024

COOKIE_NAME = "lti_state_"
SECURE_COOKIE_PREFIX = "__Host-"  # Secure, Path=/, no Domain: only this host can have set it
# The launch page's second POST (platform-storage path): what lti.get_data answered, and the proof.
STORAGE_VALUE_FIELD = "lti_storage_value"
STORAGE_PROOF_FIELD = "lti_storage_proof"


@dataclass(frozen=True)
class LoginRedirect:
    location: str
    state: str
    platform_id: str
    org_id: str
    nonce: str
    storage_target: str | None = None  # lti_storage_target: answer the platform-storage page, not a 302
    cookie: Cookie | None = None  # binds the state to this browser: set it on whichever answer is sent


# -- parameters -----------------------------------------------------------------------------------------


def login_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of each parameter (a repeated login parameter is refused)."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            if name in MAX_PARAM:
                raise LoginRejected({name: "sent more than once"}, code="duplicate_login_parameter")
            continue
        values[name] = value
    return values


def _checked(params: Mapping[str, str]) -> dict[str, str]:
    missing = [n for n in REQUIRED if not params.get(n)]
    if missing:
        raise LoginRejected({"missing": missing}, code="missing_login_parameter")
    too_long = [n for n, limit in MAX_PARAM.items() if len(params.get(n) or "") > limit]
    if too_long:
        raise LoginRejected({"too_long": too_long}, code="invalid_login_parameter")
    return {n: params[n] for n in MAX_PARAM if params.get(n)}


def _extras(params: Mapping[str, str]) -> list[tuple[str, str]]:
    extras = [
        (name, value)
        for name, value in params.items()
        if name not in RESERVED and _EXTRA_NAME.fullmatch(name) and len(value) <= MAX_EXTRA_VALUE
    ]
    return extras[:MAX_EXTRA_PARAMS]


# -- our launch URLs --------------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    return scheme, (parts.hostname or "").lower(), port


def launch_target(
    url: str, bases: Sequence[str], org_id: str | None = None
) -> tuple[str, str | None, str | None] | None:
    """``(base, class_id, unit_id)`` if ``url`` is a launch URL of this gateway, else None.

    ``{base}/lti/launch`` and an organisation's ``{base}/lti/orgs/{org_id}/launch`` name no class
    (with ``org_id`` given, only that organisation's); ``{base}/lti/launch/{class_id}[/{unit_id}]``
    does. The origin must equal a base's (default ports ignored) and the path must sit under its path
    prefix. A query string is allowed (and ignored); user info or a fragment is not.
    """
    try:
        parts = urlsplit(url)
        origin = _origin(url)
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.fragment or not parts.hostname:
        return None
    for base in bases:
        if _origin(base) != origin:
            continue
        base_path = urlsplit(base).path.rstrip("/")
        prefix = base_path + LAUNCH_PATH
        path = parts.path.rstrip("/")
        if path == prefix:
            return base, None, None
        tenant = ORG_PATH_RE.fullmatch(path[len(base_path) :]) if path.startswith(base_path) else None
        if tenant is not None:
            return (base, None, None) if org_id is None or tenant.group("org") == org_id else None
        if path.startswith(prefix + "/"):
            segments = path[len(prefix) + 1 :].split("/")
            if 1 <= len(segments) <= 2 and all(segments):
                return base, segments[0], segments[1] if len(segments) == 2 else None
    return None


def redirect_uri(base: str, org_id: str | None = None) -> str:
    """Where the platform posts the id_token: the organisation's launch URL for a login started at its
    login URL, the stack-wide one for the legacy login."""
    if org_id is not None:
        return f"{base.rstrip('/')}{ORG_PATH_PREFIX}/{org_id}/launch"
    return base.rstrip("/") + LAUNCH_PATH


def _auth_request_url(url: str, extras: Sequence[tuple[str, str]], request: Sequence[tuple[str, str]]) -> str:
    """The registered auth URL (its own query kept) + pass-through extras + our request parameters.

    Ours override the auth URL's for the same names; an extra never overrides either.
    """
    parts = urlsplit(url)
    ours = {name for name, _ in request}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    taken = ours | {k for k, _ in kept}
    extra = [(k, v) for k, v in extras if k not in taken]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*kept, *extra, *request]), ""))


# -- the login ---------------------------------------------------------------------------------------------


def login(
    params: Mapping[str, str],
    *,
    bases: Sequence[str],
    find_registration: Any,
    states: Any,
    now: float | None = None,
    org_id: str | None = None,
) -> LoginRedirect:
    """Start an LTI 1.3 launch. ``find_registration(issuer, client_id | None)`` is
    ``platforms.find_for_login``; ``states`` has ``put_state`` (``repositories.launch``)."""
    checked = _checked(params)
    registration = find_registration(checked["iss"], checked.get("client_id"))
    deployment = checked.get("lti_deployment_id")
    if deployment and deployment not in tuple(registration.deployment_ids or ()):
        raise LoginRejected({"lti_deployment_id": "not registered for this platform"}, code="unknown_deployment")
    target = launch_target(checked["target_link_uri"], bases, org_id)
    if target is None:
        raise LoginRejected(
            {
                "target_link_uri": "is not a launch URL of this tool",
                "expected": [redirect_uri(b, org_id) for b in bases],
            },
            code="invalid_target_link_uri",
        )
    auth_url = str(registration.auth_login_url or "")
    if urlsplit(auth_url).scheme not in ("https", "http") or not urlsplit(auth_url).hostname:
        raise ValidationFailed({"auth_login_url": "not an http(s) URL"}, code="invalid_auth_login_url")

    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    binding = secrets.token_urlsafe(32)  # the cookie's value; only its hash is stored
    secure = urlsplit(target[0]).scheme.lower() == "https"
    cookie = state_cookie(state, binding, secure=secure)
    storage_target = checked.get("lti_storage_target", "")  # a frame name, used as sent (never blank)
    storage_target = storage_target if storage_target.strip() else ""
    issued = int(clock.now() if now is None else now)
    item: dict[str, Any] = {
        "nonce": nonce,
        "platform_id": registration.platform_id,
        "org_id": registration.org_id,
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "target_link_uri": checked["target_link_uri"],
        "created_at": issued,
        "browser_cookie": cookie.name,
        "browser_binding": _digest(binding),
    }
    if storage_target:
        item |= {
            "storage_target": storage_target,
            "storage_origin": web_origin(auth_url),
            "storage_proof": secrets.token_urlsafe(32),
        }
    states.put_state(state, item, expires_at=issued + STATE_LIFETIME_SECONDS)
    request = [
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", registration.client_id),
        ("redirect_uri", redirect_uri(target[0], org_id)),
        ("login_hint", checked["login_hint"]),
        ("state", state),
        ("nonce", nonce),
    ]
    if "lti_message_hint" in checked:
        request.append(("lti_message_hint", checked["lti_message_hint"]))
    return LoginRedirect(
        _auth_request_url(auth_url, _extras(params), request),
        state,
        registration.platform_id,
        registration.org_id,
        nonce=nonce,
        storage_target=storage_target or None,
        cookie=cookie,
    )


# -- the state bound to the browser ------------------------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def web_origin(url: str) -> str:
    """The origin a browser computes for ``url`` (scheme, lower-case host, port unless the default)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def cookie_name(state: str, *, secure: bool) -> str:
    """``__Host-lti_state_<16 hex of SHA-256(state)>`` (without the prefix on plain http)."""
    return (SECURE_COOKIE_PREFIX if secure else "") + COOKIE_NAME + _digest(state)[:16]


def state_cookie(state: str, value: str, *, secure: bool) -> Cookie:
    """The login's cookie (see the module docstring). On plain http (local runs only) a browser drops a
    Secure or SameSite=None cookie: Lax then, which a same-site launch (one host, two ports) still carries."""
    return Cookie(
        name=cookie_name(state, secure=secure),
        value=value,
        path="/",
        secure=secure,
        http_only=True,
        max_age=STATE_LIFETIME_SECONDS,
        same_site=SameSite.NONE_MODE if secure else SameSite.LAX_MODE,
        custom_attributes=["Partitioned"] if secure else None,
    )


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and bool(a) and hmac.compare_digest(a.encode(), b.encode())


class StorageCheckRequired(Exception):  # not an error: the launch continues through a page
    """No cookie came back, and the login put the state into the platform's storage: the launch answers
    :func:`platform_storage.launch_check_response`, which reads it back in this browser and posts again.

    Raised by the browser check after every other check of the launch passed; the state stays unconsumed.
    Carries the id_token, so it is never given to a logger (no message, no args).
    """

    def __init__(self, *, id_token: str, state: str, target: str, origin: str, proof: str):
        super().__init__()
        self.id_token, self.state, self.target, self.origin, self.proof = id_token, state, target, origin, proof


def _refused(code: str, details: str) -> IdTokenRejected:
    return IdTokenRejected({"state": details}, code=code, status=400)


def browser_check(
    event: Mapping[str, Any], values: Mapping[str, str], bases: Sequence[str]
) -> Callable[[Mapping[str, Any]], None]:
    """The check :class:`id_token.LaunchValidation` runs on the state item, last, before consuming it:
    returns if the launch comes from the browser that logged in; raises a 400 :class:`IdTokenRejected`
    if not, or :class:`StorageCheckRequired` when only the platform's storage can tell."""

    def check(item: Mapping[str, Any]) -> None:
        name, binding = item.get("browser_cookie"), item.get("browser_binding")
        sent = request_cookies(event, name) if isinstance(name, str) and name else []
        if sent:
            if any(_same(_digest(value), binding) for value in sent):
                return
            raise _refused("state_not_from_this_browser", "this launch was started in another browser")
        storage_target, proof = item.get("storage_target"), item.get("storage_proof")
        if not isinstance(storage_target, str) or not storage_target or not isinstance(proof, str):
            raise _refused("browser_not_bound", "no cookie came back and the platform offers no storage")
        if STORAGE_PROOF_FIELD not in values:
            raise StorageCheckRequired(
                id_token=values.get("id_token", ""),
                state=values.get("state", ""),
                target=storage_target,
                origin=str(item.get("storage_origin") or ""),
                proof=proof,
            )
        origin, fetch_site = request_header(event, "origin"), request_header(event, "sec-fetch-site")
        ours = {web_origin(base) for base in bases}
        same_origin = origin in ours if origin and origin != "null" else fetch_site == "same-origin"
        if not same_origin or not _same(values.get(STORAGE_PROOF_FIELD), proof):
            raise _refused("storage_check_failed", "the platform storage check was not posted by this tool's page")
        if not _same(values.get(STORAGE_VALUE_FIELD), values.get("state")):
            raise _refused("state_not_from_this_browser", "the platform storage of this browser does not hold it")

    return check
