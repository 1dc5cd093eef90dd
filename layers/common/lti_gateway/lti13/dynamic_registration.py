"""LTI Dynamic Registration 1.0: an LMS administrator pastes a registration URL, the tool registers itself.

Which organisation? Each organisation gets its own registration URL, ``{base}/lti/register/{token}``:
an owner asks for one with ``POST /api/platforms/registration-url``. The token is 256 random bits; the
table keeps only its SHA-256 (``REGURL#{hash}``) with the organisation and an expiry (7 days by
default). A URL is single-use unless created with ``reusable: true``: the platform it registers and
the URL's consumption are one transaction. The URL is a credential (whoever holds it can add a
platform to the organisation), so it expires, and it never appears in logs (API Gateway's access log
records route keys, not paths).

The flow (spec §3): the LMS opens ``GET {registration URL}?openid_configuration=…&registration_token=…``
in a window or iframe → we fetch the platform's OpenID configuration (:class:`SafeHttp`: https and
public addresses only outside local mode, 5 s timeout, 64 KiB cap, no redirects; the registration
token as a bearer, as Canvas requires) → its ``issuer`` must have the configuration URL's origin →
we POST our tool configuration (:mod:`tool_config`: the organisation's URLs on the public base URL,
its tool name, description and icon) to its ``registration_endpoint`` → we store the
returned ``client_id`` and ``deployment_id`` as an active platform of the organisation → we answer the
page that posts ``{subject: "org.imsglobal.lti.close"}`` to the LMS.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response

from lti_gateway.admin import tool_config
from lti_gateway.admin.orgs import Principal
from lti_gateway.core import clock, responses, validation
from lti_gateway.core.errors import GatewayError, OutboundRefused, RegistrationUrlRefused, ValidationFailed
from lti_gateway.core.http_client import HttpResponse, SafeHttp
from lti_gateway.core.urls import origin
from lti_gateway.core.vocabulary import LTI_PLATFORM_CONFIGURATION, LTI_TOOL_CONFIGURATION
from lti_gateway.lti13 import platforms
from lti_gateway.repositories import deps

REGISTER_PATH = "/lti/register"
DEFAULT_LIFETIME_SECONDS = 7 * 24 * 3600
MIN_LIFETIME_SECONDS = 300
MAX_LIFETIME_SECONDS = 30 * 24 * 3600
TIMEOUT_SECONDS = 5.0
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_REGISTRATION_TOKEN = 4096
CLOSE_MESSAGE = "org.imsglobal.lti.close"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Registered:
    platform_id: str
    org_id: str
    name: str
    issuer: str
    client_id: str
    deployment_id: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def registration_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{REGISTER_PATH}/{token}"


# -- owner: a registration URL for the organisation ----------------------------------------------------


def create_registration_url(principal: Principal, body: dict[str, Any], *, base: str) -> dict[str, Any]:
    """A new registration URL (shown once; only its hash is stored)."""
    principal.require_owner()
    validation.reject_unknown(body, ("expires_in_seconds", "reusable"))
    lifetime = validation.whole_number(
        "expires_in_seconds",
        body.get("expires_in_seconds", DEFAULT_LIFETIME_SECONDS),
        low=MIN_LIFETIME_SECONDS,
        high=MAX_LIFETIME_SECONDS,
    )
    reusable = validation.boolean("reusable", body.get("reusable", False))
    token = secrets.token_urlsafe(32)
    now = int(clock.now())
    deps.platforms_repo().put_registration_url(
        _hash(token),
        {
            "org_id": principal.org_id,
            "created_at": clock.iso(now),
            "created_by": principal.credential_id,
            "expires_at": now + lifetime,
            "reusable": reusable,
        },
    )
    return {
        "registration_url": registration_url(base, token),
        "expires_at": clock.iso(now + lifetime),
        "reusable": reusable,
    }


# -- the LMS: GET {registration URL}?openid_configuration=…&registration_token=… -----------------------


def _live_registration_url(token: str, now: int) -> dict[str, Any]:
    item = deps.platforms_repo().get_registration_url(_hash(token)) if _TOKEN.match(token or "") else None
    if item is None:
        raise RegistrationUrlRefused("this registration URL is not valid (mistyped, or already used)")
    if int(item["expires_at"]) <= now:
        raise GatewayError(
            "this registration URL has expired: ask for a new one", code="registration_url_expired", status=410
        )
    return item


def http_client() -> SafeHttp:
    insecure = platforms.insecure_urls_allowed()
    return SafeHttp(
        timeout=TIMEOUT_SECONDS,
        max_response_bytes=MAX_DOCUMENT_BYTES,
        allow_http=insecure,
        allow_private_addresses=insecure,
    )


def _call(
    http: SafeHttp, method: str, url: str, *, what: str, headers: dict[str, str], body: bytes | None = None
) -> HttpResponse:
    try:
        return http.request(method, url, body=body, headers=headers)
    except OutboundRefused as exc:
        details = {what: exc.details.get("reason") if isinstance(exc.details, dict) else exc.details}
        if exc.kind == "response_too_large":
            details = {what: f"the answer is larger than {MAX_DOCUMENT_BYTES} bytes"}
        status = 400 if (exc.kind == "url_not_allowed" and what == "openid_configuration") else 502
        raise GatewayError(details, code=exc.kind, status=status) from None
    except OSError as exc:  # URLError, connection refused, TimeoutError
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            raise GatewayError(
                {what: "the platform did not answer in time"}, code="upstream_timeout", status=504
            ) from None
        raise GatewayError(
            {what: "the platform could not be reached"}, code="upstream_unreachable", status=502
        ) from None


def _json_document(response: HttpResponse, *, what: str, code: str) -> dict[str, Any]:
    try:
        value = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise GatewayError({what: "the platform's answer is not a JSON object"}, code=code, status=502)
    return value


def _auth(registration_token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {registration_token}"} if registration_token else {}


def _config_url(config: dict[str, Any], name: str, *, issuer: bool = False) -> str:
    try:
        return platforms.check_platform_url(name, config.get(name), issuer=issuer)
    except ValidationFailed as exc:
        raise GatewayError(exc.details, code="invalid_openid_configuration", status=502) from None


def _origin(url: str) -> str:
    split = urlsplit(url)
    return origin(split.scheme, split.hostname or "", split.port)


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    product_family_code: str | None


def fetch_openid_configuration(http: SafeHttp, url: str, registration_token: str | None) -> PlatformConfiguration:
    """Fetch and check the platform's OpenID configuration (spec §3.4 and §3.5.1)."""
    response = _call(
        http,
        "GET",
        url,
        what="openid_configuration",
        headers={"Accept": "application/json", **_auth(registration_token)},
    )
    if response.status != 200:
        raise GatewayError(
            {"openid_configuration": f"the platform answered HTTP {response.status}"},
            code="openid_configuration_unavailable",
            status=502,
        )
    config = _json_document(response, what="openid_configuration", code="invalid_openid_configuration")
    issuer = _config_url(config, "issuer", issuer=True)
    if _origin(issuer) != _origin(url):
        raise GatewayError(
            {"issuer": f"the configuration's issuer {issuer} is not on the configuration URL's origin {_origin(url)}"},
            code="issuer_mismatch",
            status=400,
        )
    endpoints = {
        name: _config_url(config, name)
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    }
    for name, needed in (
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
        ("id_token_signing_alg_values_supported", "RS256"),
    ):
        offered = config.get(name)
        if isinstance(offered, list) and needed not in offered:
            raise GatewayError(
                {name: f"the platform does not support {needed}"}, code="unsupported_platform", status=502
            )
    server = config.get("authorization_server")
    lti = config.get(LTI_PLATFORM_CONFIGURATION)
    family = lti.get("product_family_code") if isinstance(lti, dict) else None
    return PlatformConfiguration(
        issuer=issuer,
        authorization_server=server if isinstance(server, str) and 0 < len(server) <= 2048 else None,
        product_family_code=family if isinstance(family, str) and 0 < len(family) <= 100 else None,
        **endpoints,
    )


def _platform_name(config: PlatformConfiguration) -> str:
    host = urlsplit(config.issuer).hostname or config.issuer
    name = f"{config.product_family_code} ({host})" if config.product_family_code else host
    return "".join(c for c in name if c.isprintable())[: platforms.MAX_NAME].strip() or "LTI platform"


def _client_registration(
    http: SafeHttp, config: PlatformConfiguration, registration_token: str | None, base: str, org_id: str
) -> tuple[str, str | None]:
    """POST our configuration; the platform's ``(client_id, deployment_id or None)``."""
    payload = tool_config.registration_request(
        base, org_id, product_family_code=config.product_family_code, tool=tool_config.for_org(org_id)
    )
    response = _call(
        http,
        "POST",
        config.registration_endpoint,
        what="registration_endpoint",
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **_auth(registration_token)},
    )
    if response.status not in (200, 201):
        raise GatewayError(
            {"registration_endpoint": f"the platform refused the registration (HTTP {response.status})"},
            code="registration_rejected",
            status=502,
        )
    answer = _json_document(response, what="registration_endpoint", code="invalid_registration_response")
    client_id = answer.get("client_id")
    if isinstance(client_id, int) and not isinstance(client_id, bool):
        client_id = str(client_id)
    if not isinstance(client_id, str) or not client_id:
        raise GatewayError(
            {"client_id": "the platform's answer names no client_id"}, code="invalid_registration_response", status=502
        )
    tool = answer.get(LTI_TOOL_CONFIGURATION)
    deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
    if isinstance(deployment, int) and not isinstance(deployment, bool):
        deployment = str(deployment)
    return client_id, deployment if isinstance(deployment, str) and deployment else None


def register(token: str, query: dict[str, str], *, base: str) -> Registered:
    """The whole registration for one ``GET /lti/register/{token}``; every failure a GatewayError."""
    now = int(clock.now())
    url_item = _live_registration_url(token, now)
    config_url = query.get("openid_configuration")
    if not config_url:
        raise ValidationFailed(
            {"openid_configuration": "missing: open this URL from the LMS's dynamic registration page"},
            code="missing_openid_configuration",
        )
    config_url = platforms.check_platform_url("openid_configuration", config_url)
    registration_token = query.get("registration_token") or None
    if registration_token is not None and (
        len(registration_token) > MAX_REGISTRATION_TOKEN or not registration_token.isprintable()
    ):
        raise ValidationFailed({"registration_token": "is not a valid token"})
    http = http_client()
    config = fetch_openid_configuration(http, config_url, registration_token)
    client_id, deployment_id = _client_registration(http, config, registration_token, base, str(url_item["org_id"]))
    fields: dict[str, Any] = {
        "url": config.issuer,
        "clientId": client_id,
        "name": _platform_name(config),
        "authenticationEndpoint": config.authorization_endpoint,
        "accesstokenEndpoint": config.token_endpoint,
        "authConfig": {"method": "JWK_SET", "key": config.jwks_uri},
        "deploymentIds": [deployment_id] if deployment_id else [],
        "active": True,
    }
    if config.authorization_server:
        fields["authorizationServer"] = config.authorization_server
    try:
        item = platforms.register_platform(
            url_item["org_id"],
            fields,
            registration_url=(_hash(token), bool(url_item.get("reusable")), now),
        )
    except ValidationFailed as exc:
        raise GatewayError(exc.details, code="invalid_registration_response", status=502) from None
    return Registered(
        item["platform_id"], item["org_id"], item["name"], item["issuer"], item["client_id"], deployment_id
    )


# -- pages the administrator sees in the LMS -----------------------------------------------------------
# Both carry a CSP that admits only their own nonce'd style (and, on success, script); a failure is the
# one error page of core/responses with this flow's texts.

_DONE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tool registered</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="{nonce}">{style}</style></head>
<body><h1>The tool is registered</h1>
<p>{name} can now launch into this organisation's classes (client id <code>{client_id}</code>{deployment}).</p>
<p>This window closes itself; if it does not, close it and finish in the LMS.</p>
<script nonce="{nonce}">(window.opener || window.parent).postMessage({{subject: '{close}'}}, '*');</script>
</body></html>
"""
_NEXT_STEP = "Nothing was stored. Fix the cause and start the registration again from the LMS."
_RETRY_STEP = "Nothing was stored. Wait a moment, then start the registration again from the LMS."
_REPORT_STEP = "If this keeps happening, send the reference to the tool's administrator."


def content_security_policy(nonce: str) -> str:
    return f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; base-uri 'none'"


def success_page(registered: Registered) -> Response:
    """200: the page that tells the LMS (``org.imsglobal.lti.close``) the registration is done."""
    nonce = responses.csp_nonce()
    deployment = (
        f", deployment <code>{html.escape(registered.deployment_id)}</code>" if registered.deployment_id else ""
    )
    body = _DONE.format(
        nonce=nonce,
        style=responses.STYLESHEET,
        name=html.escape(registered.name),
        client_id=html.escape(registered.client_id),
        deployment=deployment,
        close=CLOSE_MESSAGE,
    )
    return responses.page(200, body, csp=content_security_policy(nonce), framed=True)  # LMSs open it in a frame


def _message(error: GatewayError) -> str:
    if error.code == "internal_error":  # a bug: its details are only the reference, shown below
        return "The tool failed to complete the registration."
    if isinstance(error.details, str):
        return error.details
    if isinstance(error.details, dict):
        return "; ".join(f"{k}: {v}" for k, v in error.details.items())
    return "The registration request was not valid."


def _next_step(error: GatewayError) -> str:
    if getattr(error, "retry_after", None) is not None:  # AWS throttled or did not answer: a 503
        return _RETRY_STEP
    if error.code == "internal_error":
        return _REPORT_STEP
    return _NEXT_STEP


def error_page(error: GatewayError, correlation_id: str) -> Response:
    """The failure page (a ``web.refusal`` renderer): the error's status, ``Retry-After`` on a 503."""
    nonce = responses.csp_nonce()
    return responses.error_page(
        error,
        correlation_id,
        title="Registration failed",
        heading="The tool could not be registered",
        message=_message(error),
        next_step=_next_step(error),
        csp=content_security_policy(nonce),
        nonce=nonce,
        framed=True,
    )
