"""Deep linking responses: ``POST /api/deeplinking`` and ``POST /api/deeplinking/form``.

The app answers an ``LtiDeepLinkingRequest`` launch with the content items the user chose; the
gateway signs the ``LtiDeepLinkingResponse`` JWT (RS256, tool key, ``kid`` header) with ``iss`` =
client id, ``aud`` = the platform issuer, a fresh ``nonce``, ``iat``, ``exp`` = iat + 300 s, the
deployment id, the message type and version, the content items, the request's ``data`` echoed, and
``msg``/``log``/``errormsg``/``errorlog`` from the options. It answers ``{message, target}`` or an
auto-submitting ``{form}`` (attribute values HTML-escaped) that posts ``JWT`` to the platform's
``deep_link_return_url``.

The target is only ever the ``deep_link_return_url`` of the stored launch (the platform's
``deep_linking_settings`` claim); the request body cannot name one (any other key in it is ignored).
It must be an absolute https URL (http only for a loopback host, and only with
``ALLOW_INSECURE_PLATFORM_URLS``, the local mode); anything else (``javascript:``, ``data:``, plain
http from a platform) is refused with 400 ``MISSING_DEEP_LINK_SETTINGS`` before anything is signed.

Items are normalised as ``ltiaas-api.md`` §5.4 says: nulls dropped recursively; the nested snake-case
keys the official Python client leaves behind camelCased; only types the platform accepts are kept,
and only the first one when it does not accept several.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from lti_gateway.app_api import launch_context as c
from lti_gateway.app_api import platform_services
from lti_gateway.app_api.auth import AppSession
from lti_gateway.app_api.errors import MISSING_DEEP_LINK_SETTINGS, validation_error
from lti_gateway.core import clock
from lti_gateway.core import vocabulary as lti
from lti_gateway.core.errors import ApiError, ValidationFailed
from lti_gateway.core.urls import LOOPBACK_HOSTS, check_url

RESPONSE = lti.DEEP_LINKING_RESPONSE
REQUEST = lti.DEEP_LINKING_REQUEST
LIFETIME_SECONDS = 300
DL = lti.DL
MAX_ITEMS = 100
MAX_TEXT = 4096
ITEM_TYPES = ("ltiResourceLink", "link", "file", "image", "html")
_CAMEL = {
    "target_name": "targetName",
    "window_features": "windowFeatures",
    "start_date_time": "startDateTime",
    "end_date_time": "endDateTime",
    "expires_at": "expiresAt",
    "line_item": "lineItem",
    "score_maximum": "scoreMaximum",
    "resource_id": "resourceId",
    "grades_released": "gradesReleased",
}
_OPTIONS = {"message": "msg", "log": "log", "errMessage": "errormsg", "errLog": "errorlog"}


def normalise(value: Any) -> Any:
    """Nulls dropped and the client's leftover snake-case keys camelCased, recursively."""
    if isinstance(value, dict):
        return {_CAMEL.get(k, k): normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalise(v) for v in value if v is not None]
    return value


def _settings(session: AppSession) -> tuple[dict[str, Any], dict[str, Any]]:
    launch = c.plain(session.launch or {})
    claims = c.claims_of(launch) if c.family(launch) == "1.3" else {}
    settings = claims.get(lti.DEEP_LINKING_SETTINGS)
    if claims.get(lti.MESSAGE_TYPE) != REQUEST or not isinstance(settings, dict):
        raise ApiError(400, MISSING_DEEP_LINK_SETTINGS, "This launch is not a deep linking request.")
    if not isinstance(settings.get("deep_link_return_url"), str):
        raise ApiError(400, MISSING_DEEP_LINK_SETTINGS, "The deep linking request has no return URL.")
    return claims, {**settings, "deep_link_return_url": return_url(settings["deep_link_return_url"])}


def return_url(value: str) -> str:
    """The platform's ``deep_link_return_url``, if a browser may be sent there with the signed response:
    https, or http to a loopback host when insecure platform URLs are allowed (local mode). Else 400."""
    from lti_gateway.lti13.platforms import insecure_urls_allowed

    insecure = insecure_urls_allowed()
    field = "deep_link_return_url"
    try:
        _, split, _ = check_url(field, value, schemes=("https", "http") if insecure else ("https",))
        if split.scheme.lower() != "https" and split.hostname.lower() not in LOOPBACK_HOSTS:
            raise ValidationFailed({field: "must use https (http only for 127.0.0.1 or localhost)"})
    except ValidationFailed as refused:
        reasons = refused.details if isinstance(refused.details, dict) else {field: str(refused)}
        raise ApiError(
            400,
            MISSING_DEEP_LINK_SETTINGS,
            "The deep linking request's return URL is not an https URL; nothing was signed.",
            errors=[{"field": k, "message": str(v)} for k, v in reasons.items()],
        ) from None
    return value


def content_items(body: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("contentItems", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise validation_error({"contentItems": f"must be a list of at most {MAX_ITEMS} content items"})
    errors: dict[str, str] = {}
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or item["type"] not in ITEM_TYPES:
            errors[f"contentItems[{i}].type"] = f"must be one of {', '.join(ITEM_TYPES)}"
            continue
        items.append(normalise(item))
    if errors:
        raise validation_error(errors)
    accepted = settings.get("accept_types")
    if isinstance(accepted, list) and accepted:
        items = [i for i in items if i["type"] in accepted]
    if settings.get("accept_multiple") is False:
        items = items[:1]
    return items


def _options(body: dict[str, Any]) -> dict[str, str]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise validation_error({"options": "must be an object"})
    out = {}
    for name, claim in _OPTIONS.items():
        value = options.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise validation_error({f"options.{name}": f"must be a string of at most {MAX_TEXT} characters"})
        out[claim] = value
    if {"msg", "log"} & set(out) and {"errormsg", "errorlog"} & set(out):
        raise validation_error({"options": "send success or error messages, not both"})
    return out


def response_jwt(session: AppSession, body: dict[str, Any]) -> tuple[str, str]:
    """``(signed LtiDeepLinkingResponse, deep_link_return_url)``."""
    from lti_gateway.lti13 import tool_keys

    claims, settings = _settings(session)
    service = session.service
    assert service is not None
    items = content_items(body, settings)
    options = _options(body)
    now = int(clock.now())
    response: dict[str, Any] = {
        "iss": service.client_id,
        "aud": service.issuer or claims.get("iss"),
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "nonce": secrets.token_urlsafe(24),
        lti.DEPLOYMENT_ID: service.deployment_id or claims.get(lti.DEPLOYMENT_ID),
        lti.MESSAGE_TYPE: RESPONSE,
        lti.VERSION: "1.3.0",
        DL + "content_items": items,
    }
    if settings.get("data") is not None:
        response[DL + "data"] = settings["data"]
    for claim, value in options.items():
        response[DL + claim] = value
    # Signed with the key set of the organisation that owns the launch's registration (never one the
    # claims could name): the platform verifies it against the JWKS that organisation gave it.
    owner = platform_services.access_for(service).endpoint.key_owner
    return tool_keys.sign(response, owner=owner, headers={"typ": "JWT"}), settings["deep_link_return_url"]


def message(session: AppSession, body: dict[str, Any]) -> dict[str, str]:
    jwt_text, target = response_jwt(session, body)
    return {"message": jwt_text, "target": target}


def form(session: AppSession, body: dict[str, Any]) -> dict[str, str]:
    jwt_text, target = response_jwt(session, body)
    page = (
        f'<form id="ltiaas_dl" style="display: none;" action="{html.escape(target, quote=True)}" method="POST">'
        f'<input type="hidden" name="JWT" value="{html.escape(jwt_text, quote=True)}" /></form>'
        '<script>document.getElementById("ltiaas_dl").submit()</script>'
    )
    return {"form": page}
