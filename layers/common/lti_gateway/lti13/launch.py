"""An LTI 1.3 login and launch: what :mod:`lti_gateway.launch.dispatch` asks of LTI 1.3.

- :func:`login` — ``GET|POST /lti/orgs/{org_id}/login`` (legacy ``/lti/login``): the parameters
  (query string, or form body then query string) handed to :func:`oidc.login`, which stores state and
  nonce and answers the 302 to the platform (or the client-side storage page, see :mod:`platform_storage`).
- :func:`validate` — the form post of ``id_token`` and ``state`` through the named chain of
  :class:`id_token.LaunchValidation` (state consumed once, platform key from its JWKS, every Security
  Framework and LTI Core check); a platform that answered the login with ``error`` is told apart.
- :func:`target` — the class and unit a validated launch names: the ``target_link_uri`` claim
  (``…/lti/launch/{class_id}[/{unit_id}]``), else the login's target (deep linking may omit the claim),
  else the custom parameters ``class_id``/``unit_id``; a launch posted to a class or unit URL must
  name the same one; a deep-linking request may name none (the organisation's app takes it).
- :func:`context_record` — the launch context the handover stores for the app API
  (``lti_version_family: "1.3"``): the flat fields an LTI 1.1 context has, the claims as maps, and
  every verified claim as JSON text.

A login reads its registration every time (consistent); a launch's registration (by the platform id
its state names) and the platform's public keys are cached per container (``CONSUMER_KEY_CACHE_SECONDS``;
keys as :mod:`platform_jwks` says), so a warm launch makes four DynamoDB calls: read the state,
consume it once the launch validated, read the class, write the launch context.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from lti_gateway.core import clock, http, runtime
from lti_gateway.core import vocabulary as lti
from lti_gateway.core.config import settings
from lti_gateway.core.errors import IdTokenRejected, LoginRejected, NotFound, ValidationFailed
from lti_gateway.core.http_client import SafeHttp
from lti_gateway.core.urls import launch_bases, web_url
from lti_gateway.lti13 import id_token, oidc, platform_jwks
from lti_gateway.lti13.id_token import ValidatedLaunch
from lti_gateway.repositories import deps

LOGIN_FORM_MAX_BYTES = 64 * 1024
MAX_LOGIN_FIELDS = 200


@runtime.cached
def _jwks_http() -> SafeHttp:
    return platform_jwks.safe_http(allow_insecure=settings().allow_insecure_platform_urls)


# Platform public keys, parsed once per kid and kept across warm invocations.
platform_keys = platform_jwks.PlatformKeys(lambda: _jwks_http())
runtime.register(platform_keys.clear)


def _platforms() -> Any:
    from lti_gateway.lti13 import platforms  # imported on first LTI 1.3 use only (LTI 1.1 cold starts stay lean)

    return platforms


def _finder_for_login(org_id: str | None) -> Any:
    """Registrations a login may match: the organisation's its URL names (None: the legacy URL's)."""

    def find(issuer: str, client_id: str | None) -> Any:
        return _platforms().find_for_login(issuer, client_id, org_id)  # read every time, never cached

    return find


def _finder_for_launch(org_id: str | None) -> Any:
    """The registration the login state names, which must be ``org_id``'s on an organisation's URL."""

    def find(issuer: str, client_id: str, platform_id: str) -> Any:
        return _platforms().find_for_launch(issuer, client_id, platform_id, org_id)

    return find


# -- login ---------------------------------------------------------------------------------------------


def _login_pairs(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """GET: the query string. POST: the form body, then the query string."""
    query = parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True, max_num_fields=MAX_LOGIN_FIELDS)
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "GET").upper()
    if method == "POST" and event.get("body"):
        return [*http.form_pairs(event, max_bytes=LOGIN_FORM_MAX_BYTES), *query]
    return query


def login(event: dict[str, Any], bases: Sequence[str], org_id: str | None = None) -> oidc.LoginRedirect:
    """``GET|POST /lti/orgs/{org_id}/login`` (and the legacy ``/lti/login``, ``org_id`` None): the 302 to
    the platform's authorization endpoint (see :mod:`oidc`)."""
    try:
        pairs = _login_pairs(event)
    except ValueError:
        raise LoginRejected({"query": "too many parameters"}, code="invalid_login_parameter") from None
    return oidc.login(
        oidc.login_params(pairs),
        bases=bases,
        find_registration=_finder_for_login(org_id),
        states=deps.launch_repo(),
        now=clock.now(),
        org_id=org_id,
    )


# -- launch --------------------------------------------------------------------------------------------


def is_launch_form(params: Sequence[tuple[str, str]]) -> bool:
    """Whether a form post to a launch URL is LTI 1.3's (an ``id_token``, a ``state`` or a platform's
    ``error``, and no OAuth 1.0a signature)."""
    names = {k for k, _ in params}
    return "oauth_signature" not in names and bool(names & {"id_token", "state", "error"})


def _platform_error(values: Mapping[str, str]) -> IdTokenRejected:
    """The platform answered the authentication request with an error (e.g. ``login_required``)."""
    error = values.get("error", "")[:64]
    description = values.get("error_description", "")[:200]
    return IdTokenRejected(
        f"The LMS did not complete the login ({error or 'no reason given'}"
        f"{': ' + description if description else ''}). Go back to the course and launch again; "
        "if it keeps failing, allow this tool's cookies or open it in a new window.",
        code="platform_login_error",
    )


def validate(
    params: Sequence[tuple[str, str]], org_id: str | None = None, *, event: Mapping[str, Any] | None = None
) -> ValidatedLaunch:
    """The ``id_token`` and ``state`` posted, through every step of :class:`id_token.LaunchValidation`;
    posted to ``/lti/orgs/{org_id}/launch``, the login must have matched a registration of ``org_id``.
    ``event`` is the request: its cookies (and, on the platform-storage path, its ``Origin``) tell
    whether the browser posting is the one that logged in (:func:`oidc.browser_check`); without it no
    launch is accepted."""
    values: dict[str, str] = {}
    for k, v in params:
        values.setdefault(k, v)
    if "id_token" not in values and values.get("error"):
        raise _platform_error(values)
    return id_token.LaunchValidation(
        values.get("id_token"),
        values.get("state"),
        states=deps.launch_repo(),
        registrations=_finder_for_launch(org_id),
        keys=platform_keys,
        now=clock.now(),
        browser=oidc.browser_check(event or {}, values, launch_bases(event) if event else []),
    ).validate()


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def return_url(validated: ValidatedLaunch) -> str | None:
    """The platform's ``launch_presentation.return_url`` when it is an http(s) URL (a verified launch
    refused later may send the user back there with ``lti_errormsg``)."""
    presentation = validated.claims.get(lti.LAUNCH_PRESENTATION) or {}
    return web_url(_string(presentation.get("return_url")))


def launch_url(validated: ValidatedLaunch, event: Mapping[str, Any]) -> str | None:
    """The URL the platform launched: its ``target_link_uri`` (a class or unit launch URL), else the
    URL the form was posted to (a deep-linking request may name no target)."""
    return _string(validated.claims.get(lti.TARGET_LINK_URI)) or http.public_url(
        event, public_base_url=settings().launch_base_url
    )


def resource_link_id(validated: ValidatedLaunch) -> str | None:
    """The LMS resource link (``resource_link.id``) the launch comes from, if it names one."""
    return _string((validated.claims.get(lti.RESOURCE_LINK) or {}).get("id"))


def context_id(validated: ValidatedLaunch) -> str | None:
    """The LMS course (``context.id``) the launch comes from, if it names one."""
    return _string((validated.claims.get(lti.CONTEXT) or {}).get("id"))


def target(
    validated: ValidatedLaunch, bases: Sequence[str], path_class: str | None, path_unit: str | None
) -> tuple[str | None, str | None]:
    """The class and unit a verified LTI 1.3 launch names (see the module docstring)."""
    claims = validated.claims
    uri = claims.get(lti.TARGET_LINK_URI)
    found: tuple[str, str | None, str | None] | None = None
    if isinstance(uri, str) and uri:
        found = oidc.launch_target(uri, bases, str(validated.registration.org_id))
        if found is None:
            raise ValidationFailed(
                {"target_link_uri": "is not a launch URL of this tool"}, code="invalid_target_link_uri"
            )
    elif isinstance(validated.state.get("target_link_uri"), str):
        # A deep-linking request may carry no target_link_uri: the login's (checked then) names the class.
        found = oidc.launch_target(validated.state["target_link_uri"], bases, str(validated.registration.org_id))
    class_id, unit_id = (found[1], found[2]) if found else (None, None)
    if class_id is None:
        custom = claims.get(lti.CUSTOM) or {}
        class_id, unit_id = _string(custom.get("class_id")), _string(custom.get("unit_id"))
        if class_id is None:
            unit_id = None
    if path_class is not None:
        if class_id is None:
            class_id, unit_id = path_class, path_unit
        elif (class_id, unit_id) != (path_class, path_unit):
            raise ValidationFailed(
                {"target_link_uri": "names another class or unit than the URL posted to"}, code="target_mismatch"
            )
    if class_id is None and validated.message_type != lti.DEEP_LINKING_REQUEST:
        raise NotFound({"class_id": "the launch names no class"}, code="no_class_in_launch")
    return class_id, unit_id


def _dynamo(value: Any, depth: int = 0) -> Any:
    """A claim value DynamoDB can store: numbers it cannot hold (NaN, ±inf, > 38 digits, out of range)
    as text, floats as Decimal, map entries with an empty name dropped, deep nesting as JSON text.
    The exact claims are kept in ``id_token_claims`` anyway."""
    if depth > 16:
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**38 else str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not (value == 0 or 1e-125 < abs(value) < 1e125):
            return str(value)
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): _dynamo(v, depth + 1) for k, v in value.items() if k != ""}
    if isinstance(value, list):
        return [_dynamo(v, depth + 1) for v in value]
    return str(value)


def context_record(
    validated: ValidatedLaunch, org_id: str, class_id: str | None, unit_id: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """The launch context of a validated launch; ``extra`` adds what the caller decided (the
    ``lti1p1`` migration fields)."""
    claims = validated.claims
    registration = validated.registration

    def claim(name: str) -> Any:
        value = claims.get(name)
        return value if value not in (None, {}, []) else None

    context = claims.get(lti.CONTEXT) or {}
    link = claims.get(lti.RESOURCE_LINK) or {}
    presentation = claims.get(lti.LAUNCH_PRESENTATION) or {}
    roles = [lti.normalize_role(r) for r in claims.get(lti.ROLES) or [] if r.strip()]
    user = {
        "id": claims.get("sub"),
        "name": claims.get("name"),
        "given_name": claims.get("given_name"),
        "family_name": claims.get("family_name"),
        "email": claims.get("email"),
        "roles": roles,
        "role_scope_mentor": claim(lti.ROLE_SCOPE_MENTOR),
    }
    record = {
        "lti_version_family": "1.3",
        "lti_version": claims.get(lti.VERSION),
        "message_type": validated.message_type,
        "org_id": org_id,
        "class_id": class_id,
        "unit_id": unit_id,
        "platform_id": registration.platform_id,
        "issuer": registration.issuer,
        "client_id": validated.client_id,
        "deployment_id": validated.deployment_id,
        # The same flat names as an LTI 1.1 launch context, for what both families share.
        "user_id": claims.get("sub"),
        "full_name": claims.get("name"),
        "given_name": claims.get("given_name"),
        "family_name": claims.get("family_name"),
        "email": claims.get("email"),
        "roles": roles,
        "is_instructor": lti.has_context_role(roles, "Instructor"),
        "is_learner": lti.has_context_role(roles, "Learner"),
        "context_id": _string(context.get("id")),
        "context_label": _string(context.get("label")),
        "context_title": _string(context.get("title")),
        "resource_link_id": _string(link.get("id")),
        "resource_link_title": _string(link.get("title")),
        "launch_presentation_return_url": web_url(_string(presentation.get("return_url"))),
        "launch_presentation_locale": _string(presentation.get("locale")),
        "launch_presentation_document_target": _string(presentation.get("document_target")),
        "target_link_uri": _string(claims.get(lti.TARGET_LINK_URI)),
        # The claims the app API answers with, as sent.
        "user": {k: v for k, v in user.items() if v not in (None, [])} | {"roles": roles},
        "context": claim(lti.CONTEXT),
        "resource_link": claim(lti.RESOURCE_LINK),
        "tool_platform": claim(lti.TOOL_PLATFORM),
        "launch_presentation": claim(lti.LAUNCH_PRESENTATION),
        "custom": claim(lti.CUSTOM),
        "lis": claim(lti.LIS),
        "ags_endpoint": claim(lti.AGS_ENDPOINT),
        "nrps": claim(lti.NRPS),
        "deep_linking_settings": claim(lti.DEEP_LINKING_SETTINGS),
        "for_user": claim(lti.FOR_USER),
        **extra,
        # Every verified claim, exactly as sent (JSON text: DynamoDB has no floats and limits nesting).
        "id_token_claims": json.dumps(claims, separators=(",", ":"), ensure_ascii=False),
        "kid": validated.kid,
        "created_at": clock.iso(clock.now()),
    }
    return {k: _dynamo(v) for k, v in record.items() if v is not None}
