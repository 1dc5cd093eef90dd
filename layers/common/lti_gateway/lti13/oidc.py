"""LTI 1.3 OIDC third-party initiated login: ``GET|POST /lti/login`` → 302 to the platform's auth endpoint.

    iss, login_hint, target_link_uri              required
    client_id, lti_deployment_id                  optional (client_id needed when an issuer has several)
    lti_message_hint                              optional, passed on untouched (it may be a JWT)
    lti_storage_target                            the platform offers client-side storage (see below)
    anything else (canvas_region, …)              passed on to the auth endpoint untouched, unless it is a
                                                  name of the OIDC authentication request itself

Steps: the registration by iss (+ client_id) → ``lti_deployment_id``, when sent, is one of its
deployments → ``target_link_uri`` is a launch URL of this gateway (same origin as our base, path
``/lti/launch`` or below) → a fresh ``state`` and ``nonce`` (256 bits each, :mod:`secrets`) stored
server-side (``STATE#{state}``, 10 minutes, conditional put) → 302 to ``auth_login_url`` with
``scope=openid, response_type=id_token, response_mode=form_post, prompt=none, client_id,
redirect_uri, login_hint, lti_message_hint, state, nonce``.

The ``redirect_uri`` is always ``{base}/lti/launch`` for the base the ``target_link_uri`` is on: one
redirect URI per deployment, whatever class or unit is launched, which is what an admin registers.

No cookie is set or needed: the state lives in DynamoDB and comes back in the form post, so the
login works in an LMS iframe with third-party cookies blocked. When the platform offers LTI
client-side postMessage storage (``lti_storage_target``, the name of its storage frame), the launch
function answers :func:`platform_storage.login_page` instead of the 302: it stores state and nonce in
that frame too, then goes to the same URL (``LoginRedirect.storage_target`` says so). That copy is an
extra binding only; the server-side state stays authoritative.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lti_gateway.core import clock
from lti_gateway.core.errors import LoginRejected, ValidationFailed

STATE_LIFETIME_SECONDS = 600
LAUNCH_PATH = "/lti/launch"
LOGIN_PATH = "/lti/login"

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


@dataclass(frozen=True)
class LoginRedirect:
    location: str
    state: str
    platform_id: str
    org_id: str
    nonce: str
    storage_target: str | None = None  # lti_storage_target: answer the platform-storage page, not a 302


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


def launch_target(url: str, bases: Sequence[str]) -> tuple[str, str | None, str | None] | None:
    """``(base, class_id, unit_id)`` if ``url`` is a launch URL of this gateway, else None.

    ``{base}/lti/launch`` names no class; ``{base}/lti/launch/{class_id}[/{unit_id}]`` does. The
    origin must equal a base's (default ports ignored) and the path must sit under its path prefix.
    A query string is allowed (and ignored); user info or a fragment is not.
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
        prefix = urlsplit(base).path.rstrip("/") + LAUNCH_PATH
        path = parts.path.rstrip("/")
        if path == prefix:
            return base, None, None
        if path.startswith(prefix + "/"):
            segments = path[len(prefix) + 1 :].split("/")
            if 1 <= len(segments) <= 2 and all(segments):
                return base, segments[0], segments[1] if len(segments) == 2 else None
    return None


def redirect_uri(base: str) -> str:
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
) -> LoginRedirect:
    """Start an LTI 1.3 launch. ``find_registration(issuer, client_id | None)`` is
    ``platforms.find_for_login``; ``states`` has ``put_state`` (``repositories.launch``)."""
    checked = _checked(params)
    registration = find_registration(checked["iss"], checked.get("client_id"))
    deployment = checked.get("lti_deployment_id")
    if deployment and deployment not in tuple(registration.deployment_ids or ()):
        raise LoginRejected({"lti_deployment_id": "not registered for this platform"}, code="unknown_deployment")
    target = launch_target(checked["target_link_uri"], bases)
    if target is None:
        raise LoginRejected(
            {"target_link_uri": "is not a launch URL of this tool", "expected": [redirect_uri(b) for b in bases]},
            code="invalid_target_link_uri",
        )
    auth_url = str(registration.auth_login_url or "")
    if urlsplit(auth_url).scheme not in ("https", "http") or not urlsplit(auth_url).hostname:
        raise ValidationFailed({"auth_login_url": "not an http(s) URL"}, code="invalid_auth_login_url")

    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    issued = int(clock.now() if now is None else now)
    states.put_state(
        state,
        {
            "nonce": nonce,
            "platform_id": registration.platform_id,
            "org_id": registration.org_id,
            "issuer": registration.issuer,
            "client_id": registration.client_id,
            "target_link_uri": checked["target_link_uri"],
            "created_at": issued,
        },
        expires_at=issued + STATE_LIFETIME_SECONDS,
    )
    request = [
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", registration.client_id),
        ("redirect_uri", redirect_uri(target[0])),
        ("login_hint", checked["login_hint"]),
        ("state", state),
        ("nonce", nonce),
    ]
    if "lti_message_hint" in checked:
        request.append(("lti_message_hint", checked["lti_message_hint"]))
    storage_target = checked.get("lti_storage_target", "")  # a frame name, used as sent (never blank)
    return LoginRedirect(
        _auth_request_url(auth_url, _extras(params), request),
        state,
        registration.platform_id,
        registration.org_id,
        nonce=nonce,
        storage_target=storage_target if storage_target.strip() else None,
    )
