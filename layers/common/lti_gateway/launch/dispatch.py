"""LTI 1.1 and LTI 1.3 launches into a class or a unit: verify, resolve, store the launch context, hand over.

LTI 1.1 (see docs/architecture.md): parse the form → rebuild the URL the LMS signed → verify OAuth
1.0a, timestamp window and nonce (:mod:`oauth1_launch`) → resolve the class/unit named by the URL and
check it belongs to the consumer key's organisation and has LTI enabled → record the LMS context on
the class the first time it is seen → store the launch context (24 h) → 302 to the app with ``ltik``.

LTI 1.3: ``/lti/login`` (:mod:`oidc`) stores state and nonce and sends the browser to the platform,
which form-posts ``id_token`` and ``state`` to ``/lti/launch`` → :mod:`id_token` validates it (state
consumed once, platform key from its JWKS, every Security Framework and LTI Core check) → the class
and unit come from the ``target_link_uri`` claim (``…/lti/launch/{class_id}[/{unit_id}]``), else the
custom parameters ``class_id``/``unit_id``; a deep-linking request naming no class goes to the
organisation's app → the same checks, context record, launch context and ``ltik`` as LTI 1.1. A form
post carrying an ``id_token`` to a class or unit launch URL is an LTI 1.3 launch too (platforms that
post to the target link URI instead of the redirect URI); the claim and the URL must then agree.

A warm LTI 1.1 launch makes two DynamoDB writes (nonce, launch context), a warm LTI 1.3 launch two
calls (consume the state, write the launch context): consumer keys, platform registrations, platform
keys, organisations and classes are cached per container (``CONSUMER_KEY_CACHE_SECONDS``; platform
keys as :mod:`platform_jwks` says). A new LMS context adds one write, the first time it is seen.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lti_gateway.admin import classes
from lti_gateway.app_api import ltik
from lti_gateway.core import clock
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.core.errors import Conflict, GatewayError, NotFound, ValidationFailed
from lti_gateway.core.http_client import SafeHttp
from lti_gateway.core.urls import effective_app_launch_url, event_base_url
from lti_gateway.lti11 import consumer_keys, oauth1_launch
from lti_gateway.lti13 import id_token, oidc, platform_jwks
from lti_gateway.lti13.id_token import IdTokenRejected, MalformedIdToken, ValidatedLaunch
from lti_gateway.repositories import deps
from lti_gateway.repositories.classes import context_key

LAUNCH_LIFETIME_SECONDS = ltik.LIFETIME_SECONDS

_orgs: TtlCache[dict[str, Any] | None] = TtlCache()
_classes: TtlCache[tuple[dict[str, Any], dict[str, Any] | None]] = TtlCache()


@cache
def _jwks_http() -> SafeHttp:
    return platform_jwks.safe_http(allow_insecure=settings().allow_insecure_platform_urls)


# Platform public keys, parsed once per kid and kept across warm invocations.
platform_keys = platform_jwks.PlatformKeys(lambda: _jwks_http())


class LaunchRefused(GatewayError):
    """A verified launch that cannot proceed (unknown class, LTI disabled, no app configured).

    ``return_url`` is set: the signature verified, so the LMS may be sent back with ``lti_errormsg``.
    """

    def __init__(self, details: Any, *, code: str, status: int, return_url: str | None):
        super().__init__(details, code=code, status=status)
        self.return_url = return_url


@dataclass(frozen=True)
class Handover:
    location: str
    launch_id: str
    org_id: str
    class_id: str | None  # None: an LTI 1.3 deep-linking request that names no class
    unit_id: str | None
    lti_version_family: str = "1.1"


class DynamoNonceStore:
    """OAuth nonces, one conditional put each, kept for the timestamp window plus skew."""

    def add_once(self, consumer_key: str, nonce: str, ttl_seconds: int) -> bool:
        now = int(clock.now())
        return deps.launch_repo().add_once(f"oauth1#{consumer_key}", nonce, now=now, expires_at=now + ttl_seconds)


_nonces = DynamoNonceStore()


def _ttl() -> int:
    return settings().consumer_key_cache_seconds


def _resolve(org_id: str, class_id: str, unit_id: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    class_item, unit_item = _classes.get(
        f"{class_id}/{unit_id}", lambda: classes.get_for_launch(class_id, unit_id), ttl_seconds=_ttl()
    )
    if class_item.get("org_id") != org_id:
        # Another organisation's class: exactly as if it did not exist.
        raise NotFound({"class_id": "no such class"})
    return class_item, unit_item


def _organisation(org_id: str) -> dict[str, Any] | None:
    return _orgs.get(org_id, lambda: deps.keys_repo().get_organisation(org_id), ttl_seconds=_ttl())


def _destination(org_id: str, class_id: str | None, unit_id: str | None) -> tuple[dict[str, Any] | None, str]:
    """The class (and unit) a launch names (none for a deep-linking request without one) and where the
    app takes it over: refuses another organisation's class, LTI disabled, and no app launch URL."""
    class_item = unit_item = None
    if class_id is not None:
        class_item, unit_item = _resolve(org_id, class_id, unit_id)
        if not class_item.get("lti_enabled"):
            raise Conflict("LTI is not enabled for this class", code="lti_disabled")
    app_url = effective_app_launch_url(_organisation(org_id), class_item, unit_item)
    if not app_url:
        raise Conflict("no app launch URL is configured for this class or organisation", code="no_app_launch_url")
    return class_item, app_url


def with_query(url: str, **params: str) -> str:
    split = urlsplit(url)
    query = "&".join(q for q in (split.query, urlencode(params)) if q)
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


def _context_record(verified: oauth1_launch.VerifiedLaunch, org_id: str, class_id: str, unit_id: str | None) -> dict:
    record = {k: v for k, v in asdict(verified).items() if k not in ("consumer", "params") and v not in (None, {}, ())}
    record |= {
        "lti_version_family": "1.1",
        "org_id": org_id,
        "class_id": class_id,
        "unit_id": unit_id,
        "roles": list(verified.roles),
        "params": [list(p) for p in verified.params],
        "created_at": clock.iso(clock.now()),
    }
    return {k: v for k, v in record.items() if v is not None}


def _remember_context(class_item: dict[str, Any], context_id: str, source: str) -> None:
    """Record the LMS context on the class once; the cached class learns it too (no write per launch)."""
    if classes.record_launch_context(class_item, context_id, source):
        seen = dict(class_item.get("lms_contexts") or {})
        seen[context_key(source, context_id)] = {"context_id": context_id, "source": source}
        class_item["lms_contexts"] = seen


_STALE_KEY_CODES = frozenset({"invalid_signature", "unknown_consumer_key"})


def _consumer_key(params: Sequence[tuple[str, str]]) -> str:
    return next((v for k, v in params if k == "oauth_consumer_key"), "")


def lti11_launch(
    event: dict[str, Any], class_id: str, unit_id: str | None, *, params: list[tuple[str, str]] | None = None
) -> Handover:
    if params is None:
        params = oauth1_launch.parse_form_body(event)
    url = oauth1_launch.public_url(event, public_base_url=settings().launch_base_url)

    def verify() -> oauth1_launch.VerifiedLaunch:
        return oauth1_launch.verify_launch(
            "POST",
            url,
            params,
            lookup_secret=consumer_keys.launch_credentials,
            nonce_store=_nonces,
            now=clock.now(),
            window_seconds=settings().launch_window_seconds,
        )

    try:
        verified = verify()
    except oauth1_launch.LaunchRejected as rejected:
        # This container's cached copy of the key may be older than a rotation or a creation made by
        # another container: read it again once before refusing a launch signed with a valid secret.
        # (The nonce is consumed only after a signature verified, so the second pass is safe.)
        if rejected.code not in _STALE_KEY_CODES or not consumer_keys.forget(_consumer_key(params)):
            raise
        verified = verify()
    org_id = verified.consumer.org_id
    back = verified.launch_presentation_return_url
    try:
        class_item, app_url = _destination(org_id, class_id, unit_id)
    except GatewayError as error:
        raise LaunchRefused(error.details, code=error.code, status=error.status, return_url=back) from None
    assert class_item is not None
    if verified.context_id:
        _remember_context(class_item, verified.context_id, verified.consumer_key)
    launch_id = secrets.token_urlsafe(18)
    now = int(clock.now())
    token = ltik.issue(launch_id, org_id, now=now)  # first: a cold KMS failure leaves no orphan context
    deps.launch_repo().put_launch_context(
        launch_id,
        _context_record(verified, org_id, class_id, unit_id),
        expires_at=now + LAUNCH_LIFETIME_SECONDS,
    )
    return Handover(with_query(app_url, ltik=token), launch_id, org_id, class_id, unit_id)


# -- LTI 1.3 ------------------------------------------------------------------------------------------


def _bases(event: Mapping[str, Any]) -> list[str]:
    """The base URLs launch URLs of this gateway may start with: the request's, and the configured ones."""
    bases = [event_base_url(event)]
    for configured in (settings().public_base_url, settings().launch_base_url):
        if configured and configured not in bases:
            bases.append(configured)
    return bases


def _platforms() -> Any:
    from lti_gateway.lti13 import platforms  # imported on first LTI 1.3 use only (LTI 1.1 cold starts stay lean)

    return platforms


def _find_for_login(issuer: str, client_id: str | None) -> Any:
    return _platforms().find_for_login(issuer, client_id)  # cached by platforms (CONSUMER_KEY_CACHE_SECONDS)


def _find_for_launch(issuer: str, client_id: str) -> Any:
    return _platforms().find_for_launch(issuer, client_id)


def _login_pairs(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """GET: the query string. POST: the form body, then the query string."""
    query = parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True, max_num_fields=200)
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "GET").upper()
    if method == "POST" and event.get("body"):
        return [*oauth1_launch.parse_form_body(event, max_bytes=64 * 1024), *query]
    return query


def lti13_login(event: dict[str, Any]) -> oidc.LoginRedirect:
    """``GET|POST /lti/login``: the 302 to the platform's authorization endpoint (see :mod:`oidc`)."""
    try:
        pairs = _login_pairs(event)
    except ValueError:
        raise oidc.LoginRejected({"query": "too many parameters"}, code="invalid_login_parameter") from None
    return oidc.login(
        oidc.login_params(pairs),
        bases=_bases(event),
        find_registration=_find_for_login,
        states=deps.launch_repo(),
        now=clock.now(),
    )


def _is_lti13_form(params: Sequence[tuple[str, str]]) -> bool:
    names = {k for k, _ in params}
    return "oauth_signature" not in names and bool(names & {"id_token", "state", "error"})


def launch(event: dict[str, Any], class_id: str | None = None, unit_id: str | None = None) -> Handover:
    """A launch form post: LTI 1.3 when it carries an ``id_token`` (or ``state``), else LTI 1.1."""
    params = oauth1_launch.parse_form_body(event)
    if _is_lti13_form(params):
        return lti13_launch(event, params, class_id, unit_id)
    if class_id is None:
        raise MalformedIdToken({"id_token": "missing"}, code="missing_id_token")
    return lti11_launch(event, class_id, unit_id, params=params)


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


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _target(
    validated: ValidatedLaunch, bases: Sequence[str], path_class: str | None, path_unit: str | None
) -> tuple[str | None, str | None]:
    """The class and unit a verified LTI 1.3 launch names (see the module docstring)."""
    claims = validated.claims
    uri = claims.get(id_token.TARGET_LINK_URI)
    found: tuple[str, str | None, str | None] | None = None
    if isinstance(uri, str) and uri:
        found = oidc.launch_target(uri, bases)
        if found is None:
            raise ValidationFailed(
                {"target_link_uri": "is not a launch URL of this tool"}, code="invalid_target_link_uri"
            )
    elif isinstance(validated.state.get("target_link_uri"), str):
        # A deep-linking request may carry no target_link_uri: the login's (checked then) names the class.
        found = oidc.launch_target(validated.state["target_link_uri"], bases)
    class_id, unit_id = (found[1], found[2]) if found else (None, None)
    if class_id is None:
        custom = claims.get(id_token.CUSTOM) or {}
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
    if class_id is None and validated.message_type != id_token.DEEP_LINKING_REQUEST:
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


def _lti11_migration(validated: ValidatedLaunch, org_id: str) -> dict[str, Any]:
    """The ``lti1p1`` claim, and ``lti11_consumer_key`` when the claimed key is active, belongs to the
    platform's organisation, and either its ``oauth_consumer_key_sign`` verifies with that key's secret
    or an owner approved the binding of this platform + deployment to it (:mod:`lti11_bindings`; a
    launch without a verifiable signature records the binding as pending the first time)."""
    claim = validated.claims.get(id_token.LTI1P1)
    if not isinstance(claim, dict):
        return {}
    out: dict[str, Any] = {"lti1p1": claim, "lti1p1_verified": False}
    key = _string(claim.get("oauth_consumer_key"))
    if not key or len(key) > 255:
        return out
    credentials = consumer_keys.launch_credentials(key)
    if credentials.org_id != org_id or credentials.status != "active":
        return out  # unknown, revoked or another organisation's key: never bound, never offered for approval
    signed = _string(claim.get("oauth_consumer_key_sign")) is not None
    if signed and id_token.verify_lti1p1_sign(validated.claims, validated.client_id, credentials.secrets):
        return out | {"lti1p1_verified": True, "lti11_consumer_key": key}
    from lti_gateway.lti13 import lti11_bindings  # imported on first use only (LTI 1.1 cold starts stay lean)

    status = lti11_bindings.for_launch(
        platform_id=str(validated.registration.platform_id),
        org_id=org_id,
        deployment_id=validated.deployment_id,
        consumer_key=key,
        reason=lti11_bindings.SIGNATURE_MISMATCH if signed else lti11_bindings.SIGNATURE_MISSING,
    )
    out["lti1p1_binding"] = status
    if status == lti11_bindings.APPROVED:
        out["lti11_consumer_key"] = key
    return out


_LIS_V2 = "http://purl.imsglobal.org/vocab/lis/v2/"


def _has_role(roles: Sequence[str], principal: str) -> bool:
    exact, sub = f"{_LIS_V2}membership#{principal}", f"{_LIS_V2}membership/{principal}#"
    return any(r == exact or r.startswith(sub) for r in roles)


def _web_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL (a return URL we may redirect to), else None."""
    try:
        parts = urlsplit(value or "")
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _lti13_record(
    validated: ValidatedLaunch, org_id: str, class_id: str | None, unit_id: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    claims = validated.claims
    registration = validated.registration

    def claim(name: str) -> Any:
        value = claims.get(name)
        return value if value not in (None, {}, []) else None

    context = claims.get(id_token.CONTEXT) or {}
    link = claims.get(id_token.RESOURCE_LINK) or {}
    presentation = claims.get(id_token.LAUNCH_PRESENTATION) or {}
    roles = [oauth1_launch.normalize_role(r) for r in claims.get(id_token.ROLES) or [] if r.strip()]
    user = {
        "id": claims.get("sub"),
        "name": claims.get("name"),
        "given_name": claims.get("given_name"),
        "family_name": claims.get("family_name"),
        "email": claims.get("email"),
        "roles": roles,
        "role_scope_mentor": claim(id_token.ROLE_SCOPE_MENTOR),
    }
    record = {
        "lti_version_family": "1.3",
        "lti_version": claims.get(id_token.VERSION),
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
        "is_instructor": _has_role(roles, "Instructor"),
        "is_learner": _has_role(roles, "Learner"),
        "context_id": _string(context.get("id")),
        "context_label": _string(context.get("label")),
        "context_title": _string(context.get("title")),
        "resource_link_id": _string(link.get("id")),
        "resource_link_title": _string(link.get("title")),
        "launch_presentation_return_url": _web_url(_string(presentation.get("return_url"))),
        "launch_presentation_locale": _string(presentation.get("locale")),
        "launch_presentation_document_target": _string(presentation.get("document_target")),
        "target_link_uri": _string(claims.get(id_token.TARGET_LINK_URI)),
        # The claims the app API answers with, as sent.
        "user": {k: v for k, v in user.items() if v not in (None, [])} | {"roles": roles},
        "context": claim(id_token.CONTEXT),
        "resource_link": claim(id_token.RESOURCE_LINK),
        "tool_platform": claim(id_token.TOOL_PLATFORM),
        "launch_presentation": claim(id_token.LAUNCH_PRESENTATION),
        "custom": claim(id_token.CUSTOM),
        "lis": claim(id_token.LIS),
        "ags_endpoint": claim(id_token.AGS_ENDPOINT),
        "nrps": claim(id_token.NRPS),
        "deep_linking_settings": claim(id_token.DEEP_LINKING_SETTINGS),
        "for_user": claim(id_token.FOR_USER),
        **extra,
        # Every verified claim, exactly as sent (JSON text: DynamoDB has no floats and limits nesting).
        "id_token_claims": json.dumps(claims, separators=(",", ":"), ensure_ascii=False),
        "kid": validated.kid,
        "created_at": clock.iso(clock.now()),
    }
    return {k: _dynamo(v) for k, v in record.items() if v is not None}


def lti13_launch(
    event: dict[str, Any],
    params: Sequence[tuple[str, str]],
    path_class: str | None = None,
    path_unit: str | None = None,
) -> Handover:
    values: dict[str, str] = {}
    for k, v in params:
        values.setdefault(k, v)
    if "id_token" not in values and values.get("error"):
        raise _platform_error(values)
    validated = id_token.LaunchValidation(
        values.get("id_token"),
        values.get("state"),
        states=deps.launch_repo(),
        registrations=_find_for_launch,
        keys=platform_keys,
        now=clock.now(),
    ).validate()
    org_id = str(validated.registration.org_id)
    # Verified: from here on a refusal may send the user back to the platform with lti_errormsg.
    presentation = validated.claims.get(id_token.LAUNCH_PRESENTATION) or {}
    back = _web_url(_string(presentation.get("return_url")))
    try:
        class_id, unit_id = _target(validated, _bases(event), path_class, path_unit)
        class_item, app_url = _destination(org_id, class_id, unit_id)
    except GatewayError as error:
        raise LaunchRefused(error.details, code=error.code, status=error.status, return_url=back) from None
    context_id = _string((validated.claims.get(id_token.CONTEXT) or {}).get("id"))
    if class_item is not None and context_id:
        _remember_context(class_item, context_id, str(validated.registration.issuer))
    record = _lti13_record(validated, org_id, class_id, unit_id, _lti11_migration(validated, org_id))
    launch_id = secrets.token_urlsafe(18)
    now = int(clock.now())
    token = ltik.issue(launch_id, org_id, now=now)  # first: a cold KMS failure leaves no orphan context
    deps.launch_repo().put_launch_context(launch_id, record, expires_at=now + LAUNCH_LIFETIME_SECONDS)
    return Handover(with_query(app_url, ltik=token), launch_id, org_id, class_id, unit_id, "1.3")


# -- what a person in the LMS iframe sees when a launch fails -----------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launch failed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}}
code{{background:#f3f3f3;padding:.1rem .3rem}}</style></head>
<body><h1>This launch could not be completed</h1>
<p>{message}</p>
<p>Reason: <code>{code}</code><br>Reference: <code>{correlation_id}</code></p>
<p>If this keeps happening, send the reference to your LMS administrator.</p>
</body></html>
"""

_MESSAGES = {
    "invalid_signature": "The LMS signed this launch with a key and secret that do not match. Check the "
    "consumer key and secret configured in the LMS.",
    "unknown_consumer_key": "The consumer key configured in the LMS is not known to this tool.",
    "consumer_key_revoked": "The consumer key configured in the LMS has been revoked.",
    "timestamp_expired": "The launch request is too old. Check the LMS server's clock, then launch again.",
    "timestamp_in_future": "The launch request is dated in the future. Check the LMS server's clock.",
    "nonce_replayed": "This launch was already used. Go back to the course and launch again.",
    "content_item_not_supported": "Selecting content from this tool (Content-Item) is not supported yet. "
    "Add the tool as an assignment or link instead.",
    "lti_disabled": "LTI is not enabled for this class.",
    "no_app_launch_url": "This class is not connected to an application yet.",
    "not_found": "The class or unit this link points to does not exist.",
    # LTI 1.3
    "missing_id_token": "This address expects an LTI launch from an LMS. Start the launch from the course.",
    "invalid_state": "This launch was already used, or was not started from this tool's login. Go back to the "
    "course and launch again.",
    "state_expired": "The launch took too long to complete. Go back to the course and launch again.",
    "unknown_platform": "This LMS is not registered with this tool. Ask your administrator to register it "
    "(issuer and client id).",
    "platform_inactive": "This LMS's registration with this tool has been deactivated.",
    "client_id_required": "This LMS is registered more than once: the LMS must send its client id when it "
    "starts the login.",
    "unknown_deployment": "This deployment of the tool in the LMS is not registered. Ask your administrator to "
    "add its deployment id to the platform registration.",
    "id_token_signature_invalid": "The LMS's signature on this launch does not verify. Check the platform's key "
    "(JWKS URL) in its registration.",
    "unknown_kid": "The LMS signed this launch with a key it does not publish. Check the platform's JWKS URL "
    "in its registration.",
    "jwks_unavailable": "The LMS's public keys could not be fetched. Try again in a minute.",
    "id_token_expired": "The launch is too old. Check the LMS server's clock, then launch again.",
    "iat_in_future": "The launch is dated in the future. Check the LMS server's clock.",
    "iat_too_old": "The launch is too old. Check the LMS server's clock, then launch again.",
    "unsupported_message_type": "This kind of LTI message is not supported by this tool (resource links, deep "
    "linking and submission review are).",
    "unsupported_lti_version": "Only LTI 1.3.0 launches are supported.",
    "invalid_target_link_uri": "The link in the LMS does not point to a launch URL of this tool.",
    "target_mismatch": "The launch names another class or unit than the URL it was sent to.",
    "no_class_in_launch": "This link names no class: use a class or unit launch URL as the target link URI, "
    "or set the custom parameter class_id.",
    # The gateway's own dependencies
    "service_unavailable": "The tool is busy right now. Wait a few seconds, then launch again from the course.",
    "kms_unavailable": "The tool cannot open its keys right now. Try again later; if it persists, tell your "
    "LMS administrator.",
    "internal_error": "The tool failed to complete this launch. Launch again from the course; if it keeps "
    "failing, send the reference below to your LMS administrator.",
}


def error_page(error: GatewayError, correlation_id: str) -> str:
    message = _MESSAGES.get(error.code)
    if message is None:
        details = error.details if isinstance(error.details, str) else None
        message = details or "The launch request was not valid."
    return _PAGE.format(
        message=html.escape(message), code=html.escape(error.code), correlation_id=html.escape(correlation_id)
    )


def error_return_url(error: GatewayError) -> str | None:
    """The LMS return URL with ``lti_errormsg``, only for failures after the signature verified."""
    back = getattr(error, "return_url", None)
    if not back:
        return None
    message = _MESSAGES.get(error.code) or (error.details if isinstance(error.details, str) else error.code)
    return with_query(back, lti_errormsg=str(message)[:500])


def clear_caches() -> None:
    from lti_gateway.lti13 import lti11_bindings

    _orgs.clear()
    _classes.clear()
    platform_keys.clear()
    _jwks_http.cache_clear()
    lti11_bindings.clear_cache()
