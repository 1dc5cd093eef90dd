"""Everything an LMS administrator sees of the tool's LTI 1.3 configuration, from one place.

URLs (``base`` = ``PUBLIC_BASE_URL`` or the API's own host), each organisation's own:

- OIDC login initiation: ``{base}/lti/orgs/{org_id}/login``
- redirect URI, target link URI and deep-linking URL: ``{base}/lti/orgs/{org_id}/launch``
- JWKS: ``{base}/lti/orgs/{org_id}/jwks.json`` (the organisation's own signing keys)

A login at these URLs is matched against that organisation's registrations only, and everything the
tool signs for them is signed with that organisation's keys: another organisation registering the
same issuer and client id reaches none of this one's launches or LMS services. (The stack-wide
``/lti/login``, ``/lti/launch`` and ``/.well-known/jwks.json`` still serve registrations made before
tenant scoping; nothing hands them out any more.)

The manual-setup JSON (``GET /api/tool-configuration``), the Canvas developer key JSON
(``GET /api/tool-configuration/canvas``) and the LTI Dynamic Registration request body are all
built here from the same constants, so they cannot disagree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lti_gateway.core import vocabulary as lti

TITLE = "LTI Gateway"
DESCRIPTION = "Launches from this LMS into your organisation's classes and units."
LTI_VERSION = lti.LTI_VERSION

ORG_PATH = "/lti/orgs/{org_id}"
LOGIN_PATH = ORG_PATH + "/login"
LAUNCH_PATH = ORG_PATH + "/launch"
JWKS_PATH = ORG_PATH + "/jwks.json"
LEGACY_JWKS_PATH = "/.well-known/jwks.json"

RESOURCE_LINK = lti.RESOURCE_LINK_REQUEST
DEEP_LINKING = lti.DEEP_LINKING_REQUEST
MESSAGE_TYPES = (RESOURCE_LINK, DEEP_LINKING)

SCOPES = (
    lti.SCOPE_LINEITEM,
    lti.SCOPE_LINEITEM_READONLY,
    lti.SCOPE_RESULT_READONLY,
    lti.SCOPE_SCORE,
    lti.SCOPE_NRPS,
)
# OpenID claims asked for at dynamic registration (the user's identity for the app).
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
# Canvas variable substitutions sent as custom parameters (course copies keep their history).
CANVAS_CUSTOM_FIELDS = {
    "context_id_history": "$Context.id.history",
    "resource_link_id_history": "$ResourceLink.id.history",
}
CANVAS_PLATFORM = "canvas.instructure.com"
CANVAS_DEEP_LINK_PLACEMENTS = ("link_selection", "assignment_selection")


def _base(base: str) -> str:
    return base.rstrip("/")


def login_url(base: str, org_id: str) -> str:
    return _base(base) + LOGIN_PATH.format(org_id=org_id)


def launch_url(base: str, org_id: str) -> str:
    """The redirect URI the id_token is posted to; also the organisation-wide target link URI."""
    return _base(base) + LAUNCH_PATH.format(org_id=org_id)


def deep_link_url(base: str, org_id: str) -> str:
    return launch_url(base, org_id)


def jwks_url(base: str, org_id: str) -> str:
    return _base(base) + JWKS_PATH.format(org_id=org_id)


def redirect_uris(base: str, org_id: str) -> list[str]:
    return [launch_url(base, org_id)]


def domain(base: str) -> str:
    return urlsplit(_base(base)).netloc


def messages(base: str, org_id: str) -> list[dict[str, Any]]:
    """The message types the tool accepts, as LTI Dynamic Registration lists them."""
    return [
        {"type": RESOURCE_LINK, "target_link_uri": launch_url(base, org_id), "label": TITLE},
        {"type": DEEP_LINKING, "target_link_uri": deep_link_url(base, org_id), "label": TITLE},
    ]


def configuration(base: str, org_id: str, *, public_jwk: dict[str, Any] | None = None) -> dict[str, Any]:
    """``GET /api/tool-configuration``: what to paste into an LMS for a manual LTI 1.3 registration."""
    out: dict[str, Any] = {
        "title": TITLE,
        "description": DESCRIPTION,
        "lti_version": LTI_VERSION,
        "domain": domain(base),
        "login_url": login_url(base, org_id),
        "redirect_uris": redirect_uris(base, org_id),
        "launch_url": launch_url(base, org_id),
        "target_link_uri": launch_url(base, org_id),
        "deep_link_url": deep_link_url(base, org_id),
        "jwks_url": jwks_url(base, org_id),
        "scopes": list(SCOPES),
        "claims": list(CLAIMS),
        "messages": messages(base, org_id),
    }
    if public_jwk is not None:
        out["public_jwk"] = public_jwk
    return out


def canvas_developer_key(base: str, org_id: str, *, public_jwk: dict[str, Any] | None = None) -> dict[str, Any]:
    """Canvas "LTI Key" JSON (Developer Keys > + LTI Key > Method: Paste JSON).

    With ``public_jwk`` (the tool's current key, ``alg`` and ``use`` included) the key is inlined
    instead of ``public_jwk_url``; the URL is better: it follows key rotation.
    """
    placements = [
        {
            "placement": placement,
            "message_type": DEEP_LINKING,
            "target_link_uri": deep_link_url(base, org_id),
            "text": TITLE,
        }
        for placement in CANVAS_DEEP_LINK_PLACEMENTS
    ]
    key: dict[str, Any] = (
        {"public_jwk": public_jwk} if public_jwk is not None else {"public_jwk_url": jwks_url(base, org_id)}
    )
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": login_url(base, org_id),
        "target_link_uri": launch_url(base, org_id),
        **key,
        "scopes": list(SCOPES),
        "extensions": [
            {
                "platform": CANVAS_PLATFORM,
                "domain": domain(base),
                "tool_id": "lti-gateway",
                "privacy_level": "public",
                "settings": {"text": TITLE, "platform": CANVAS_PLATFORM, "placements": placements},
            }
        ],
        "custom_fields": dict(CANVAS_CUSTOM_FIELDS),
    }


def registration_request(base: str, org_id: str, *, product_family_code: str | None = None) -> dict[str, Any]:
    """The body POSTed to a platform's ``registration_endpoint`` (LTI Dynamic Registration 1.0 §3.3):
    the registering organisation's own URLs and JWKS."""
    tool_messages = messages(base, org_id)
    if product_family_code == "canvas":
        for message in tool_messages:
            if message["type"] == DEEP_LINKING:
                message["placements"] = list(CANVAS_DEEP_LINK_PLACEMENTS)
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": login_url(base, org_id),
        "redirect_uris": redirect_uris(base, org_id),
        "client_name": TITLE,
        "jwks_uri": jwks_url(base, org_id),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        lti.LTI_TOOL_CONFIGURATION: {
            "domain": domain(base),
            "description": DESCRIPTION,
            "target_link_uri": launch_url(base, org_id),
            "claims": list(CLAIMS),
            "messages": tool_messages,
        },
    }
