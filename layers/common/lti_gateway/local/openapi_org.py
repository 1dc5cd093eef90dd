"""Schemas of the organisation-level routes for the OpenAPI document (``local/openapi.py`` merges them).

The same shape as ``openapi_admin.py`` and ``openapi_app.py`` (see the contract in their docstrings):
``SCHEMAS`` (components/schemas), ``RESPONSES`` ((METHOD, path) -> the success answer's media types, each
with a schema and an example) and ``REQUESTS`` ((METHOD, path) -> the request body's media types). These
are the routes of the keys function (the organisation, API credentials, LTI 1.1 consumer keys, launch
error records, the Learnosity Data API endpoint, the OpenAPI document), the tool's configuration and
signing keys, the stack-wide JWKS and the owner console. Plain data: nothing here is imported by the
layer at run time.
"""

from __future__ import annotations

from typing import Any

_REF = "#/components/schemas/"
_TIME = {"type": "string", "format": "date-time", "description": "UTC, `YYYY-MM-DDTHH:MM:SSZ`."}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_URL_OR_NULL = {"type": ["string", "null"], "maxLength": 2048}
_TEXT = {"type": "string", "maxLength": 255}
# An LTI 1.1 consumer key or secret chosen by the caller (docs/api.md): OAuth 1.0a-safe characters.
_CREDENTIAL = {"type": "string", "minLength": 16, "maxLength": 255, "pattern": r"^[a-z0-9!#%&,\-_/^$*+.|]+$"}
_NEXT = {"type": ["string", "null"], "description": "The next page's token (`?next=`); null on the last page."}

ORG_ID = "org_0123456789abcdef"
CREDENTIAL_ID = "ak_0123456789abcdef"
CREATED = "2026-09-01T08:00:00Z"
KEY_EXAMPLE = {
    "key": "k3y4lms0123456789abcdef0",
    "label": "Moodle production",
    "status": "active",
    "created_at": CREATED,
    "rotated_at": None,
    "revoked_at": None,
}
SECRET_EXAMPLE = "s3cr3t0123456789abcdefghijklmnopqrstuvw"  # noqa: S105 (an example in the document)
_BASE = "https://lti.example.edu"
_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
_JWK = {
    "kty": "RSA",
    "kid": "rZppeiEF8gUQVSxi4E_6uGkAV9iZpfazc_74h4vh1ic",
    "use": "sig",
    "alg": "RS256",
    "n": "0E2ob_6UtpNGRwr9pw_E6D8wl6ogqfbEdNorTyyZoewBLXpmAdTXrt9-YqK40gdmmVfPzc8TkuEvcX4B2JOSQf5bUztbLL6YK3miUenzepdJ",
    "e": "AQAB",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], example: Any) -> dict[str, dict[str, Any]]:
    return {"application/json": {"schema": schema, "example": example}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Organisation": {
        "type": "object",
        "description": "The caller's organisation, its settings, and the credential that made the call.",
        "required": [
            "org_id",
            "name",
            "created_at",
            "app_launch_url",
            "app_origins",
            "tool_name",
            "tool_description",
            "tool_icon_url",
            "credential",
        ],
        "properties": {
            "org_id": {"type": "string"},
            "name": {"type": "string"},
            "created_at": _TIME,
            "app_launch_url": {
                "type": ["string", "null"],
                "description": "Where launches go unless a class or unit names its own.",
            },
            "app_origins": {"type": "array", "items": {"type": "string"}},
            "tool_name": {"type": ["string", "null"]},
            "tool_description": {"type": ["string", "null"]},
            "tool_icon_url": {"type": ["string", "null"]},
            "credential": {
                "type": "object",
                "required": ["credential_id", "role"],
                "properties": {
                    "credential_id": {"type": "string"},
                    "role": {"$ref": _REF + "CredentialRole"},
                },
            },
        },
    },
    "OrganisationUpdate": {
        "type": "object",
        "description": "The settings to change (those sent; null clears one).",
        "additionalProperties": False,
        "properties": {
            "app_launch_url": _URL_OR_NULL,
            "app_origins": {"type": ["array", "null"], "maxItems": 50, "items": {"type": "string", "maxLength": 300}},
            "tool_name": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
            "tool_description": {"type": ["string", "null"], "minLength": 1, "maxLength": 1000},
            "tool_icon_url": _URL_OR_NULL,
        },
    },
    "CredentialRole": {"type": "string", "enum": ["owner", "member"]},
    "Credential": {
        "type": "object",
        "description": "An API credential (its secret is never shown again after its creation).",
        "required": ["credential_id", "role", "label", "status", "created_at", "last_used_at", "revoked_at"],
        "properties": {
            "credential_id": {"type": "string"},
            "role": {"$ref": _REF + "CredentialRole"},
            "label": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["active", "revoked"]},
            "created_at": _TIME,
            "last_used_at": _TIME_OR_NULL,
            "revoked_at": _TIME_OR_NULL,
        },
    },
    "CredentialCreated": {
        "description": "The new credential and its API key, shown this once.",
        "allOf": [
            {"$ref": _REF + "Credential"},
            {
                "type": "object",
                "required": ["api_key"],
                "properties": {
                    "api_key": {"type": "string", "description": "`<credential_id>.<secret>`: send it as a Bearer key."}
                },
            },
        ],
    },
    "CredentialPage": {
        "type": "object",
        "required": ["credentials", "next"],
        "properties": {"credentials": {"type": "array", "items": {"$ref": _REF + "Credential"}}, "next": _NEXT},
    },
    "CredentialCreate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "role": {"type": "string", "enum": ["owner", "member"], "description": "Default `member`."},
            "label": _TEXT,
        },
    },
    "ConsumerKey": {
        "type": "object",
        "description": "An LTI 1.1 consumer key (its secret is shown only when created or rotated).",
        "required": ["key", "label", "status", "created_at", "rotated_at", "revoked_at"],
        "properties": {
            "key": {"type": "string"},
            "label": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["active", "revoked"]},
            "created_at": _TIME,
            "rotated_at": _TIME_OR_NULL,
            "revoked_at": _TIME_OR_NULL,
        },
    },
    "ConsumerKeyWithSecret": {
        "description": "A consumer key and its shared secret, shown this once.",
        "allOf": [
            {"$ref": _REF + "ConsumerKey"},
            {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}},
        ],
    },
    "ConsumerKeyPage": {
        "type": "object",
        "required": ["keys", "next"],
        "properties": {"keys": {"type": "array", "items": {"$ref": _REF + "ConsumerKey"}}, "next": _NEXT},
    },
    "ConsumerKeyCreate": {
        "type": "object",
        "description": "All optional: without `key`/`secret` the gateway generates them.",
        "additionalProperties": False,
        "properties": {"label": _TEXT, "key": _CREDENTIAL, "secret": _CREDENTIAL},
    },
    "ConsumerKeyRotate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "grace_period_seconds": {
                "type": "integer",
                "minimum": 0,
                "maximum": 604800,
                "description": "How long the old secret still verifies launches (default 0).",
            }
        },
    },
    "LaunchError": {
        "type": "object",
        "description": "A refused launch or login, by the reference its error page showed (kept 31 days).",
        "required": ["reference", "time", "status", "code", "message", "expires_at", "lms"],
        "properties": {
            "reference": {"type": "string"},
            "time": _TIME,
            "route": {"type": "string"},
            "code": {"type": "string"},
            "status": {"type": "integer"},
            "message": {"type": "string"},
            "details": {"description": "What was wrong, as the page's log line has it (never a secret)."},
            "verified": {"type": "boolean", "description": "Whether the launch's signature verified."},
            "protocol": {"type": "string"},
            "expires_at": _TIME,
            "lms": {"type": "object", "description": "What the LMS sent that identifies it (issuer, keys, ids)."},
        },
    },
    "ToolConfiguration": {
        "type": "object",
        "description": "The organisation's LTI 1.3 settings to paste into an LMS (manual registration).",
        "required": [
            "title",
            "description",
            "lti_version",
            "domain",
            "login_url",
            "redirect_uris",
            "launch_url",
            "target_link_uri",
            "deep_link_url",
            "jwks_url",
            "scopes",
            "claims",
            "messages",
        ],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "lti_version": {"type": "string"},
            "domain": {"type": "string"},
            "login_url": {"type": "string"},
            "redirect_uris": {"type": "array", "items": {"type": "string"}},
            "launch_url": {"type": "string"},
            "target_link_uri": {"type": "string"},
            "deep_link_url": {"type": "string"},
            "jwks_url": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "claims": {"type": "array", "items": {"type": "string"}},
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "target_link_uri"],
                    "properties": {
                        "type": {"type": "string"},
                        "target_link_uri": {"type": "string"},
                        "label": {"type": "string"},
                    },
                },
            },
            "icon_url": {"type": "string"},
            "public_jwk": {"$ref": _REF + "JwksKey"},  # openapi_admin.py defines it
        },
    },
    "ToolConfigurationCanvas": {
        "type": "object",
        "description": "A Canvas developer key's JSON (`public_jwk` with `?inline_jwk=true`, else `public_jwk_url`).",
        "required": ["title", "description", "oidc_initiation_url", "target_link_uri", "scopes", "extensions"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "oidc_initiation_url": {"type": "string"},
            "target_link_uri": {"type": "string"},
            "public_jwk_url": {"type": "string"},
            "public_jwk": {"$ref": _REF + "JwksKey"},  # openapi_admin.py defines it
            "scopes": {"type": "array", "items": {"type": "string"}},
            "extensions": {"type": "array", "items": {"type": "object"}},
            "custom_fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "ToolKeyRotation": {
        "type": "object",
        "description": "The organisation's signing keys after a rotation (the old current key stays published "
        "as previous; the old previous is retired).",
        "required": ["rotated", "current", "previous", "retired_kid"],
        "properties": {
            "rotated": {"type": "boolean"},
            "current": {"anyOf": [{"$ref": _REF + "ToolKeySummary"}, {"type": "null"}]},
            "previous": {"anyOf": [{"$ref": _REF + "ToolKeySummary"}, {"type": "null"}]},
            "retired_kid": {"type": ["string", "null"]},
        },
    },
    "ToolKeySummary": {
        "type": "object",
        "required": ["kid", "created_at"],
        "properties": {"kid": {"type": "string"}, "created_at": _TIME},
    },
    "ToolKeyRotate": {"type": "object", "additionalProperties": False, "properties": {}},
    "OpenApiDocument": {
        "type": "object",
        "description": "This document (OpenAPI 3.1).",
        "required": ["openapi", "info", "paths"],
        "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}},
    },
    "ConsoleSession": {
        "type": "object",
        "description": "The console's session (its cookie is set by the answer; `csrf_token` goes in "
        "`X-CSRF-Token` of every change).",
        "required": ["org_id", "org_name", "role", "credential_id", "class_id", "csrf_token", "expires_at"],
        "properties": {
            "org_id": {"type": "string"},
            "org_name": {"type": ["string", "null"]},
            "role": {"$ref": _REF + "CredentialRole"},
            "credential_id": {"type": "string"},
            "class_id": {"type": ["string", "null"], "description": "Set when a console link scoped it to a class."},
            "csrf_token": {"type": "string"},
            "expires_at": _TIME,
        },
    },
    "ConsoleSignIn": {
        "type": "object",
        "description": "Exactly one of `api_key` (an API key) or `link` (a one-time sign-in link's token).",
        "additionalProperties": False,
        "properties": {"api_key": {"type": "string", "maxLength": 512}, "link": {"type": "string", "maxLength": 128}},
    },
    "ConsoleSignOut": {
        "type": "object",
        "required": ["signed_out"],
        "properties": {"signed_out": {"type": "boolean", "const": True}},
    },
    "DataApiRequest": {
        "type": "object",
        "description": "A Learnosity Data API call: `security` (JSON, signed with the consumer secret), `request` "
        "(JSON: `{label?, key?, secret?}` for `set`; `{limit?, next?}` for `get`) and `action`.",
        "additionalProperties": False,
        "required": ["security", "request", "action"],
        "properties": {
            "security": {"type": "string"},
            "request": {"type": "string"},
            "action": {"type": "string", "enum": ["get", "set"]},
        },
    },
    "DataApiResponse": {
        "type": "object",
        "description": "The Learnosity Data API envelope of a success: `set` answers the new key with its "
        "secret, `get` a page of keys (`meta.next` when there are more).",
        "required": ["meta", "data"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["status", "timestamp"],
                "properties": {
                    "status": {"type": "boolean", "const": True},
                    "timestamp": {"type": "integer"},
                    "records": {"type": "integer"},
                    "next": {"type": "string"},
                },
            },
            "data": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["key", "secret", "label", "status", "created_at"],
                        "properties": {
                            "key": {"type": "string"},
                            "secret": {"type": "string"},
                            "label": {"type": ["string", "null"]},
                            "status": {"type": "string"},
                            "created_at": _TIME,
                        },
                    },
                    {"type": "array", "items": {"$ref": _REF + "ConsumerKey"}},
                ]
            },
        },
    },
}

_ORG = {
    "org_id": ORG_ID,
    "name": "Example University",
    "created_at": CREATED,
    "app_launch_url": "https://app.example.edu/lti",
    "app_origins": ["https://app.example.edu"],
    "tool_name": "Example Courseware",
    "tool_description": None,
    "tool_icon_url": None,
    "credential": {"credential_id": CREDENTIAL_ID, "role": "owner"},
}
_CREDENTIAL_EXAMPLE = {
    "credential_id": "ak_89abcdef01234567",
    "role": "member",
    "label": "CI pipeline",
    "status": "active",
    "created_at": CREATED,
    "last_used_at": None,
    "revoked_at": None,
}
_TOOL_CONFIGURATION = {
    "title": "Example Courseware",
    "description": "Launches from this LMS into your organisation's classes and units.",
    "lti_version": "1.3.0",
    "domain": "lti.example.edu",
    "login_url": f"{_BASE}/lti/orgs/{ORG_ID}/login",
    "redirect_uris": [f"{_BASE}/lti/orgs/{ORG_ID}/launch"],
    "launch_url": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
    "target_link_uri": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
    "deep_link_url": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
    "jwks_url": f"{_BASE}/lti/orgs/{ORG_ID}/jwks.json",
    "scopes": _SCOPES,
    "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
    "messages": [
        {
            "type": "LtiResourceLinkRequest",
            "target_link_uri": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
            "label": "Example Courseware",
        },
        {
            "type": "LtiDeepLinkingRequest",
            "target_link_uri": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
            "label": "Example Courseware",
        },
    ],
    "public_jwk": _JWK,
}
_CANVAS = {
    "title": "Example Courseware",
    "description": "Launches from this LMS into your organisation's classes and units.",
    "oidc_initiation_url": f"{_BASE}/lti/orgs/{ORG_ID}/login",
    "target_link_uri": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
    "public_jwk_url": f"{_BASE}/lti/orgs/{ORG_ID}/jwks.json",
    "scopes": _SCOPES,
    "extensions": [
        {
            "platform": "canvas.instructure.com",
            "domain": "lti.example.edu",
            "tool_id": "lti-gateway",
            "privacy_level": "public",
            "settings": {
                "text": "Example Courseware",
                "platform": "canvas.instructure.com",
                "placements": [
                    {
                        "placement": "link_selection",
                        "message_type": "LtiDeepLinkingRequest",
                        "target_link_uri": f"{_BASE}/lti/orgs/{ORG_ID}/launch",
                        "text": "Example Courseware",
                    }
                ],
            },
        }
    ],
    "custom_fields": {
        "context_id_history": "$Context.id.history",
        "resource_link_id_history": "$ResourceLink.id.history",
    },
}
_SESSION = {
    "org_id": ORG_ID,
    "org_name": "Example University",
    "role": "owner",
    "credential_id": CREDENTIAL_ID,
    "class_id": None,
    "csrf_token": "162637b788716367035c7302470a7b6a95883540727849e865c9d1c52bc6debd",
    "expires_at": "2026-09-01T20:00:00Z",
}

RESPONSES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("GET", "/api/org"): _json(_ref("Organisation"), _ORG),
    ("PATCH", "/api/org"): _json(_ref("Organisation"), _ORG),
    ("GET", "/api/credentials"): _json(
        _ref("CredentialPage"),
        {
            "credentials": [
                {**_CREDENTIAL_EXAMPLE, "credential_id": CREDENTIAL_ID, "role": "owner", "label": "initial owner"}
            ],
            "next": None,
        },
    ),
    ("POST", "/api/credentials"): _json(
        _ref("CredentialCreated"),
        {**_CREDENTIAL_EXAMPLE, "api_key": "ak_89abcdef01234567.4AmydKzLh3kJlbcBIsfGmZtWhz_JAPeYMw7UIuTbn-M"},
    ),
    ("DELETE", "/api/credentials/{credential_id}"): _json(
        _ref("Credential"), {**_CREDENTIAL_EXAMPLE, "status": "revoked", "revoked_at": "2026-09-02T08:00:00Z"}
    ),
    ("GET", "/api/keys"): _json(_ref("ConsumerKeyPage"), {"keys": [KEY_EXAMPLE], "next": None}),
    ("POST", "/api/keys"): _json(_ref("ConsumerKeyWithSecret"), {**KEY_EXAMPLE, "secret": SECRET_EXAMPLE}),
    ("GET", "/api/keys/{key}"): _json(_ref("ConsumerKey"), KEY_EXAMPLE),
    ("DELETE", "/api/keys/{key}"): _json(
        _ref("ConsumerKey"), {**KEY_EXAMPLE, "status": "revoked", "revoked_at": "2026-09-02T08:00:00Z"}
    ),
    ("POST", "/api/keys/{key}/rotate"): _json(
        _ref("ConsumerKeyWithSecret"), {**KEY_EXAMPLE, "rotated_at": "2026-09-02T08:00:00Z", "secret": SECRET_EXAMPLE}
    ),
    ("GET", "/api/launch-errors/{reference}"): _json(
        _ref("LaunchError"),
        {
            "reference": "LE-7Q2M4K9X",
            "time": CREATED,
            "route": "POST /lti/launch/{class_id}",
            "code": "invalid_signature",
            "status": 401,
            "message": "The launch's OAuth signature did not verify.",
            "details": {"oauth_signature": "does not match the consumer secret"},
            "verified": False,
            "protocol": "lti11",
            "expires_at": "2026-10-02T08:00:00Z",
            "lms": {"consumer_key": KEY_EXAMPLE["key"], "context_id": "course-42"},
        },
    ),
    ("GET", "/api/tool-configuration"): _json(_ref("ToolConfiguration"), _TOOL_CONFIGURATION),
    ("GET", "/api/tool-configuration/canvas"): _json(_ref("ToolConfigurationCanvas"), _CANVAS),
    ("POST", "/api/tool-keys/rotate"): _json(
        _ref("ToolKeyRotation"),
        {
            "rotated": True,
            "current": {"kid": _JWK["kid"], "created_at": "2026-09-02T08:00:00Z"},
            "previous": {"kid": "ssvMV_TxVBcnNDnDqIS1rVixgkTiolaOt0b8YThTQos", "created_at": CREATED},
            "retired_kid": None,
        },
    ),
    ("GET", "/api/openapi.json"): _json(
        _ref("OpenApiDocument"), {"openapi": "3.1.0", "info": {"title": "LTI Gateway", "version": "1.0.0"}, "paths": {}}
    ),
    ("GET", "/console/session"): _json(_ref("ConsoleSession"), _SESSION),
    ("POST", "/console/session"): _json(_ref("ConsoleSession"), _SESSION),
    ("DELETE", "/console/session"): _json(_ref("ConsoleSignOut"), {"signed_out": True}),
    ("POST", "/{lts_version}/consumer/keys/lti"): _json(
        _ref("DataApiResponse"),
        {
            "meta": {"status": True, "timestamp": 1788249600},
            "data": {
                "key": KEY_EXAMPLE["key"],
                "secret": SECRET_EXAMPLE,
                "label": "Moodle production",
                "status": "active",
                "created_at": CREATED,
            },
        },
    ),
    ("GET", "/console"): {
        "text/html": {
            "schema": {"type": "string"},
            "example": '<!doctype html>\n<html lang="en">\n<head><title>LTI Gateway console</title>...',
        }
    },
    ("GET", "/console/assets/{name}"): {
        "text/javascript": {"schema": {"type": "string"}, "example": '"use strict";\n...'},
        "text/css": {"schema": {"type": "string"}, "example": ":root { ... }"},
    },
}

REQUESTS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("PATCH", "/api/org"): _json(
        _ref("OrganisationUpdate"),
        {"app_launch_url": "https://app.example.edu/lti", "app_origins": ["https://app.example.edu"]},
    ),
    ("POST", "/api/credentials"): _json(_ref("CredentialCreate"), {"role": "member", "label": "CI pipeline"}),
    ("POST", "/api/keys"): _json(_ref("ConsumerKeyCreate"), {"label": "Moodle production"}),
    ("POST", "/api/keys/{key}/rotate"): _json(_ref("ConsumerKeyRotate"), {"grace_period_seconds": 3600}),
    ("POST", "/api/tool-keys/rotate"): _json(_ref("ToolKeyRotate"), {}),
    ("POST", "/console/session"): _json(
        _ref("ConsoleSignIn"), {"api_key": "ak_0123456789abcdef.4AmydKzLh3kJlbcBIsfGmZtWhz_JAPeYMw7UIuTbn-M"}
    ),
    ("POST", "/{lts_version}/consumer/keys/lti"): {
        "application/x-www-form-urlencoded": {
            "schema": _ref("DataApiRequest"),
            "example": {
                "security": '{"consumer_key":"k3y4lms0123456789abcdef0","domain":"app.example.edu",'
                '"timestamp":"20260901-0800","signature":"$02$5f1c..."}',
                "request": '{"label":"Moodle production"}',
                "action": "set",
            },
        }
    },
}
