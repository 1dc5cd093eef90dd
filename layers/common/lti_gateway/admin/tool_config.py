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

What LMSs display of the tool (its name, description and icon: :class:`ToolIdentity`) is the
organisation's ``tool_name``, ``tool_description`` and ``tool_icon_url`` where set, else the stack's
defaults (template ToolName, ToolDescription, ToolIconUrl: :func:`lti_gateway.core.config.tool_defaults`);
:func:`for_org` reads it, every builder here and the exports take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lti_gateway.core import vocabulary as lti
from lti_gateway.core.config import DEFAULT_TOOL_DESCRIPTION, DEFAULT_TOOL_NAME, tool_defaults
from lti_gateway.repositories.org_tool import org_tool_repo

TITLE = DEFAULT_TOOL_NAME  # the stack default's default (template ToolName)
DESCRIPTION = DEFAULT_TOOL_DESCRIPTION
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


@dataclass(frozen=True)
class ToolIdentity:
    """What an LMS shows of the tool: its name, description and icon (an https URL, or None)."""

    name: str
    description: str
    icon_url: str | None = None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def identity(org: Mapping[str, Any] | None = None) -> ToolIdentity:
    """The organisation's ``tool_name``, ``tool_description`` and ``tool_icon_url`` where set (PATCH
    /api/org checked them), each else the stack's default; no ``org``: the stack's defaults."""
    org = org or {}
    defaults = tool_defaults()
    icon = _text(org.get("tool_icon_url"))
    return ToolIdentity(
        name=_text(org.get("tool_name")) or defaults.name,
        description=_text(org.get("tool_description")) or defaults.description,
        icon_url=icon if icon and icon.startswith("https://") else defaults.icon_url,
    )


def for_org(org_id: str) -> ToolIdentity:
    """The organisation's :class:`ToolIdentity` (one GetItem of those three attributes)."""
    return identity(org_tool_repo().tool_settings(org_id))


def _tool(tool: ToolIdentity | None) -> ToolIdentity:
    return tool if tool is not None else identity()


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


def messages(base: str, org_id: str, *, tool: ToolIdentity | None = None) -> list[dict[str, Any]]:
    """The message types the tool accepts, as LTI Dynamic Registration lists them."""
    tool = _tool(tool)
    icon = {"icon_uri": tool.icon_url} if tool.icon_url else {}
    return [
        {"type": RESOURCE_LINK, "target_link_uri": launch_url(base, org_id), "label": tool.name, **icon},
        {"type": DEEP_LINKING, "target_link_uri": deep_link_url(base, org_id), "label": tool.name, **icon},
    ]


def configuration(
    base: str, org_id: str, *, public_jwk: dict[str, Any] | None = None, tool: ToolIdentity | None = None
) -> dict[str, Any]:
    """``GET /api/tool-configuration``: what to paste into an LMS for a manual LTI 1.3 registration
    (``tool``: the organisation's :func:`for_org`; None, the stack's defaults)."""
    tool = _tool(tool)
    out: dict[str, Any] = {
        "title": tool.name,
        "description": tool.description,
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
        "messages": messages(base, org_id, tool=tool),
    }
    if tool.icon_url:
        out["icon_url"] = tool.icon_url
    if public_jwk is not None:
        out["public_jwk"] = public_jwk
    return out


def canvas_developer_key(
    base: str, org_id: str, *, public_jwk: dict[str, Any] | None = None, tool: ToolIdentity | None = None
) -> dict[str, Any]:
    """Canvas "LTI Key" JSON (Developer Keys > + LTI Key > Method: Paste JSON).

    With ``public_jwk`` (the tool's current key, ``alg`` and ``use`` included) the key is inlined
    instead of ``public_jwk_url``; the URL is better: it follows key rotation.
    """
    tool = _tool(tool)
    icon = {"icon_url": tool.icon_url} if tool.icon_url else {}
    placements = [
        {
            "placement": placement,
            "message_type": DEEP_LINKING,
            "target_link_uri": deep_link_url(base, org_id),
            "text": tool.name,
            **icon,
        }
        for placement in CANVAS_DEEP_LINK_PLACEMENTS
    ]
    key: dict[str, Any] = (
        {"public_jwk": public_jwk} if public_jwk is not None else {"public_jwk_url": jwks_url(base, org_id)}
    )
    return {
        "title": tool.name,
        "description": tool.description,
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
                "settings": {"text": tool.name, "platform": CANVAS_PLATFORM, **icon, "placements": placements},
            }
        ],
        "custom_fields": dict(CANVAS_CUSTOM_FIELDS),
    }


def registration_request(
    base: str, org_id: str, *, product_family_code: str | None = None, tool: ToolIdentity | None = None
) -> dict[str, Any]:
    """The body POSTed to a platform's ``registration_endpoint`` (LTI Dynamic Registration 1.0 §3.3):
    the registering organisation's own URLs and JWKS, its tool name, description and icon."""
    tool = _tool(tool)
    tool_messages = messages(base, org_id, tool=tool)
    if product_family_code == "canvas":
        for message in tool_messages:
            if message["type"] == DEEP_LINKING:
                message["placements"] = list(CANVAS_DEEP_LINK_PLACEMENTS)
    body: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": login_url(base, org_id),
        "redirect_uris": redirect_uris(base, org_id),
        "client_name": tool.name,
        "jwks_uri": jwks_url(base, org_id),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        lti.LTI_TOOL_CONFIGURATION: {
            "domain": domain(base),
            "description": tool.description,
            "target_link_uri": launch_url(base, org_id),
            "claims": list(CLAIMS),
            "messages": tool_messages,
        },
    }
    if tool.icon_url:
        body["logo_uri"] = tool.icon_url
    return body
