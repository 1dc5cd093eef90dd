"""Helpers for the app API (token function) tests: events, LTI 1.1 launches, hand-built 1.3 contexts."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lti_gateway.local.events import http_api_event
from lti_gateway.local.template import Router, routes
from tests.support.stack import _template

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)

_router: list[Router] = []


def router() -> Router:
    if not _router:
        _router.append(Router(routes(_template())))
    return _router[0]


def ltik_auth(api_key: str, token: str) -> str:
    return f"LTIK-AUTH-V2 {api_key}:{token}"


def service_auth(api_key: str, key: str) -> str:
    return f"SERVICE-AUTH-V1 {api_key}:{key}"


def token_event(
    method: str,
    target: str,
    *,
    authorization: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    raw_path: str | None = None,
) -> dict[str, Any]:
    """The HTTP API event API Gateway would send the token function for ``method target``.

    ``raw_path`` overrides what the event carries (e.g. ``//api/idtoken``, which the local gateway's
    request parsing would already collapse).
    """
    hdrs = {"host": HOST, "user-agent": "python-requests/2.32", "accept": "*/*"}
    if authorization is not None:
        hdrs["authorization"] = authorization
    data = b""
    if body is not None or raw_body is not None:
        data = (raw_body if raw_body is not None else json.dumps(body)).encode()
        hdrs["content-type"] = "application/json"
    hdrs.update(headers or {})
    path = target.partition("?")[0]
    matched = router().match(method, path)
    route_key, params = ("$default", None) if matched is None else (matched[0].route_key, matched[1])
    event = http_api_event(
        method=method, target=target, headers=hdrs.items(), body=data, route_key=route_key, path_parameters=params
    )
    if raw_path is not None:
        event["rawPath"] = raw_path
        event["requestContext"]["http"]["path"] = raw_path
    return event


def ltik_from(location: str) -> str:
    return parse_qs(urlsplit(location).query)["ltik"][0]


# -- LTI 1.3: a hand-built launch context (the shape lti13/launch.py stores) --------------------------


def lti13_claims(
    *,
    issuer: str,
    client_id: str,
    deployment_id: str = "dep-1",
    message_type: str = "LtiResourceLinkRequest",
    ags: dict[str, Any] | None = None,
    nrps: dict[str, Any] | None = None,
    deep_linking: dict[str, Any] | None = None,
    sub: str = "user-42",
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": [client_id, "another-audience"],
        "azp": client_id,
        "sub": sub,
        "exp": now + 300,
        "iat": now,
        "nonce": secrets.token_urlsafe(12),
        "name": "Grace Hopper",
        "given_name": "Grace",
        "family_name": "Hopper",
        "email": "grace@lms.example",
        LTI + "message_type": message_type,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": deployment_id,
        LTI + "target_link_uri": "https://gw.example/lti/launch",
        LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        LTI + "context": {"id": "course-7", "label": "PHY", "title": "Physics", "type": ["CourseSection"]},
        LTI + "tool_platform": {
            "guid": "lms.example",
            "name": "Example LMS",
            "version": "4.3",
            "product_family_code": "moodle",
        },
        LTI + "launch_presentation": {"document_target": "iframe", "return_url": "https://lms.example/return"},
        LTI + "custom": {"unit": "waves", "attempts": 3, "flag": True, "nothing": None, "ratio": 0.5},
        LTI + "lis": {"person_sourcedid": "sis-42", "course_section_sourcedid": None},
    }
    if message_type == "LtiResourceLinkRequest":
        claims[LTI + "resource_link"] = {"id": "rl-1", "title": "Waves quiz"}
    if ags is not None:
        claims[AGS] = ags
    if nrps is not None:
        claims[NRPS] = nrps
    if deep_linking is not None:
        claims[DL_SETTINGS] = deep_linking
    return claims


def store_lti13_launch(org_id: str, claims: dict[str, Any], *, platform_id: str, client_id: str) -> tuple[str, str]:
    """Store a 1.3 launch context as the launch function would; ``(launch id, ltik)``."""
    from lti_gateway.app_api import ltik
    from lti_gateway.repositories import deps

    launch_id = secrets.token_urlsafe(18)
    now = int(time.time())
    context = {
        "lti_version_family": "1.3",
        "org_id": org_id,
        "platform_id": platform_id,
        "client_id": client_id,
        "deployment_id": claims[LTI + "deployment_id"],
        "issuer": claims["iss"],
        "id_token_claims": json.dumps(claims),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }
    deps.launch_repo().put_launch_context(launch_id, context, expires_at=now + 86_400)
    return launch_id, ltik.issue(launch_id, org_id, now=now)
