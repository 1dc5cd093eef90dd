"""Everything an LMS administrator sees of the tool's LTI 1.3 configuration, from one place.

URLs (``base`` = ``PUBLIC_BASE_URL`` or the API's own host, see :mod:`launch_urls`):

- OIDC login initiation: ``{base}/lti/login``
- redirect URI, target link URI and deep-linking URL: ``{base}/lti/launch``
- JWKS: ``{base}/.well-known/jwks.json``

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

LOGIN_PATH = "/lti/login"
LAUNCH_PATH = "/lti/launch"
JWKS_PATH = "/.well-known/jwks.json"

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


def login_url(base: str) -> str:
    return _base(base) + LOGIN_PATH


def launch_url(base: str) -> str:
    """The redirect URI the id_token is posted to; also the tool-wide target link URI."""
    return _base(base) + LAUNCH_PATH


def deep_link_url(base: str) -> str:
    return launch_url(base)


def jwks_url(base: str) -> str:
    return _base(base) + JWKS_PATH


def redirect_uris(base: str) -> list[str]:
    return [launch_url(base)]


def domain(base: str) -> str:
    return urlsplit(_base(base)).netloc


def messages(base: str) -> list[dict[str, Any]]:
    """The message types the tool accepts, as LTI Dynamic Registration lists them."""
    return [
        {"type": RESOURCE_LINK, "target_link_uri": launch_url(base), "label": TITLE},
        {"type": DEEP_LINKING, "target_link_uri": deep_link_url(base), "label": TITLE},
    ]


def configuration(base: str, *, public_jwk: dict[str, Any] | None = None) -> dict[str, Any]:
    """``GET /api/tool-configuration``: what to paste into an LMS for a manual LTI 1.3 registration."""
    out: dict[str, Any] = {
        "title": TITLE,
        "description": DESCRIPTION,
        "lti_version": LTI_VERSION,
        "domain": domain(base),
        "login_url": login_url(base),
        "redirect_uris": redirect_uris(base),
        "launch_url": launch_url(base),
        "target_link_uri": launch_url(base),
        "deep_link_url": deep_link_url(base),
        "jwks_url": jwks_url(base),
        "scopes": list(SCOPES),
        "claims": list(CLAIMS),
        "messages": messages(base),
    }
    if public_jwk is not None:
        out["public_jwk"] = public_jwk
    return out


def canvas_developer_key(base: str, *, public_jwk: dict[str, Any] | None = None) -> dict[str, Any]:
    """Canvas "LTI Key" JSON (Developer Keys > + LTI Key > Method: Paste JSON).

    With ``public_jwk`` (the tool's current key, ``alg`` and ``use`` included) the key is inlined
    instead of ``public_jwk_url``; the URL is better: it follows key rotation.
    """
    placements = [
        {
            "placement": placement,
            "message_type": DEEP_LINKING,
            "target_link_uri": deep_link_url(base),
            "text": TITLE,
        }
        for placement in CANVAS_DEEP_LINK_PLACEMENTS
    ]
    key: dict[str, Any] = {"public_jwk": public_jwk} if public_jwk is not None else {"public_jwk_url": jwks_url(base)}
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": login_url(base),
        "target_link_uri": launch_url(base),
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


def registration_request(base: str, *, product_family_code: str | None = None) -> dict[str, Any]:
    """The body POSTed to a platform's ``registration_endpoint`` (LTI Dynamic Registration 1.0 §3.3)."""
    tool_messages = messages(base)
    if product_family_code == "canvas":
        for message in tool_messages:
            if message["type"] == DEEP_LINKING:
                message["placements"] = list(CANVAS_DEEP_LINK_PLACEMENTS)
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": login_url(base),
        "redirect_uris": redirect_uris(base),
        "client_name": TITLE,
        "jwks_uri": jwks_url(base),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        lti.LTI_TOOL_CONFIGURATION: {
            "domain": domain(base),
            "description": DESCRIPTION,
            "target_link_uri": launch_url(base),
            "claims": list(CLAIMS),
            "messages": tool_messages,
        },
    }
