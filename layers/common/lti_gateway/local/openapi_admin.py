"""OpenAPI schemas of the administration routes, merged into the document by ``local/openapi.py``.

Classes and units (``/api/classes*``), the LTI settings exports (``/api/classes/{class_id}/lti-settings``,
a unit's ``lti-config.xml``, ``/api/lti-settings``), LTI 1.3 platforms and their LTI 1.1 bindings
(``/api/platforms*``), the tool's public key sets (``/lti/orgs/{org_id}/jwks.json``,
``/.well-known/jwks.json``), LTI Dynamic Registration (``/lti/register/{token}``) and the public class
link (``/classes/{class_id}/open``).

Plain data, no imports of the package: ``SCHEMAS`` (components/schemas, names beginning with Class,
Unit, Export, Platform, Lti11Binding, Registration or Jwks), ``RESPONSES`` ((METHOD, path) -> the media
type map of the success answer) and ``REQUESTS`` ((METHOD, path) -> the media type map of the request
body). What each schema says is what the code answers (admin/classes.py ``public_class`` /
``public_unit``, admin/exports.py, lti13/platforms.py ``view``, lti13/lti11_bindings.py ``view``,
lti13/dynamic_registration.py, lti13/tool_keys.py); tests/e2e/test_openapi_admin_schemas.py checks
every schema against real answers of the local gateway. Responses stay open (no
``additionalProperties: false``) so a field added later is not a breaking change; request bodies are
exactly as strict as the handlers.
"""

from __future__ import annotations

from typing import Any

# -- building blocks ---------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (``type`` widened; other keywords apply only to the non-null value)."""
    kind = schema["type"]
    return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


_BASE = "https://lti.example.edu"
_ORG_ID = "org_0123456789abcdef"
_CLASS_ID = "cls_0123456789abcdef"
_UNIT_1 = "unt_0123456789abcdef"
_UNIT_2 = "unt_fedcba9876543210"
_PLATFORM_ID = "plt_0123456789abcdef"
_BINDING_ID = "lb_0123456789abcdef0123456789abcdef"
_CREATED = "2026-09-01T08:30:00Z"
_UPDATED = "2026-09-02T14:05:12Z"
_CLASS_LAUNCH = f"{_BASE}/lti/launch/{_CLASS_ID}"
_CLASS_LMS_URL = "https://canvas.example.edu/courses/1234"

_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "description": "UTC, `YYYY-MM-DDTHH:MM:SSZ`.",
    "example": _CREATED,
}
_URL = {"type": "string", "format": "uri"}
_VERSION_FIELD = {
    "type": "integer",
    "minimum": 1,
    "description": "Increases with every change; send it back in an update to apply it only to this version "
    "(409 `concurrent_change` otherwise).",
}
_CLASS_ID_SCHEMA = {"type": "string", "pattern": "^cls_[0-9a-f]{16}$", "example": _CLASS_ID}
_UNIT_ID_SCHEMA = {"type": "string", "pattern": "^unt_[0-9a-f]{16}$", "example": _UNIT_1}

# One paging shape for every listing: ``{<items>: [...], next}``.
_NEXT = {
    "type": ["string", "null"],
    "description": "The token of the next page (pass it back as `?next=`), or null on the last page. Opaque, "
    "bound to this listing of your organisation.",
    "example": None,
}


def _page(items: str, item: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": [items, "next"],
        "properties": {items: {"type": "array", "items": _ref(item)}, "next": _NEXT},
    }


# A page of the LTI specs' HTML (never JSON): every page the gateway renders starts like this.
_HTML = {"type": "string", "pattern": "^<!doctype html>"}

# -- classes and units -------------------------------------------------------------------------------

_LMS_CONTEXT_EXAMPLE = {
    "context_id": "4dde05e8ca1973bcca9bffc13e1548820eee93a3",
    "source": "canvas-physics-2026",
    "first_seen_at": _UPDATED,
}
_CLASS_EXAMPLE = {
    "class_id": _CLASS_ID,
    "name": "Physics 101",
    "lti_enabled": True,
    "class_lms_url": _CLASS_LMS_URL,
    "class_lms_url_confirmed": False,
    "app_launch_url": None,
    "launch_url": _CLASS_LAUNCH,
    "lms_context_ids": ["4dde05e8ca1973bcca9bffc13e1548820eee93a3"],
    "lms_contexts": [_LMS_CONTEXT_EXAMPLE],
    "created_at": _CREATED,
    "updated_at": _UPDATED,
    "version": 2,
}
_UNIT_EXAMPLES = [
    {
        "unit_id": _UNIT_1,
        "class_id": _CLASS_ID,
        "name": "Unit 1: Waves",
        "position": 0,
        "app_launch_url": None,
        "launch_url": f"{_CLASS_LAUNCH}/{_UNIT_1}",
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "version": 1,
    },
    {
        "unit_id": _UNIT_2,
        "class_id": _CLASS_ID,
        "name": "Unit 2: Optics",
        "position": 1,
        "app_launch_url": "https://app.example.edu/lti/optics",
        "launch_url": f"{_CLASS_LAUNCH}/{_UNIT_2}",
        "created_at": _CREATED,
        "updated_at": _UPDATED,
        "version": 3,
    },
]

# Request bodies: exactly the generator's BODIES (local/openapi.py), with descriptions and examples.
_URL_OR_NULL = {"type": ["string", "null"], "maxLength": 2048}
_CLASS_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The class's name."},
    "lti_enabled": {
        "type": "boolean",
        "description": 'The "Enable LTI" switch (default true): off refuses every launch into the class.',
    },
    "class_lms_url": {
        **_URL_OR_NULL,
        "description": "The Class LMS URL (the LMS course home `/classes/{class_id}/open` sends students to): "
        "an http(s) URL on the origin of an LMS this organisation launched from, or any origin with "
        "`class_lms_url_confirmed` (owners). null clears it.",
    },
    "class_lms_url_confirmed": {
        "type": "boolean",
        "description": "Owners only: accept a `class_lms_url` on an origin no launch came from (sent with it).",
    },
    "app_launch_url": {
        **_URL_OR_NULL,
        "description": "Where this class's launches are handed over instead of the organisation's app launch "
        "URL (on an origin the organisation allows). null clears it.",
    },
}
_UNIT_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The unit's name."},
    "position": {
        "type": "integer",
        "minimum": 0,
        "description": "The ordering key (units are listed by position); omitted on create: appended.",
    },
    "app_launch_url": {
        **_URL_OR_NULL,
        "description": "Where this unit's launches are handed over instead of the class's or organisation's. "
        "null clears it.",
    },
}
_UPDATE_VERSION = {"version": {"type": "integer", "minimum": 1, "description": _VERSION_FIELD["description"]}}

CLASS_SCHEMAS: dict[str, dict[str, Any]] = {
    "ClassLmsContext": {
        "type": "object",
        "description": "An LMS course (context) that launched into the class; the first sighting is kept.",
        "required": ["context_id", "source", "first_seen_at"],
        "properties": {
            "context_id": {"type": "string", "description": "The LMS's context id."},
            "source": {
                "type": "string",
                "description": "The LTI 1.1 consumer key or LTI 1.3 issuer the launch came with.",
            },
            "first_seen_at": _TIMESTAMP,
        },
        "example": _LMS_CONTEXT_EXAMPLE,
    },
    "Class": {
        "type": "object",
        "description": "A class: what an LMS course links to with its `launch_url`. Every key is present.",
        "required": [
            "class_id",
            "name",
            "lti_enabled",
            "class_lms_url",
            "class_lms_url_confirmed",
            "app_launch_url",
            "launch_url",
            "lms_context_ids",
            "lms_contexts",
            "created_at",
            "updated_at",
            "version",
        ],
        "properties": {
            "class_id": _CLASS_ID_SCHEMA,
            "name": {"type": "string", "example": "Physics 101"},
            "lti_enabled": {"type": "boolean", "description": "Off: launches into the class are refused."},
            "class_lms_url": {
                "type": ["string", "null"],
                "description": "The LMS course home `/classes/{class_id}/open` redirects to.",
                "example": _CLASS_LMS_URL,
            },
            "class_lms_url_confirmed": {
                "type": "boolean",
                "description": "An owner confirmed the Class LMS URL's origin (no launch came from it).",
            },
            "app_launch_url": {
                "type": ["string", "null"],
                "description": "The class's own app launch URL; null: the organisation's.",
            },
            "launch_url": {
                **_URL,
                "description": "The class launch URL (LTI 1.1 launch URL and LTI 1.3 target link URI).",
                "example": _CLASS_LAUNCH,
            },
            "lms_context_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The LMS context ids that launched into the class, sorted.",
            },
            "lms_contexts": {
                "type": "array",
                "items": _ref("ClassLmsContext"),
                "description": "The same contexts with where and when each was first seen, oldest first.",
            },
            "created_at": _TIMESTAMP,
            "updated_at": _nullable(_TIMESTAMP),
            "version": _VERSION_FIELD,
        },
        "example": _CLASS_EXAMPLE,
    },
    "ClassPage": _page("classes", "Class", "One page of the organisation's classes."),
    "ClassCreate": {
        "type": "object",
        "description": "A new class: `name`, the rest optional.",
        "properties": _CLASS_FIELDS,
        "required": ["name"],
        "additionalProperties": False,
        "example": {"name": "Physics 101", "class_lms_url": _CLASS_LMS_URL},
    },
    "ClassUpdate": {
        "type": "object",
        "description": "The fields to change (at least one); `version` applies the change only to that version.",
        "properties": {**_CLASS_FIELDS, **_UPDATE_VERSION},
        "additionalProperties": False,
        "example": {"name": "Physics 101 (Spring term)", "version": 1},
    },
    "Unit": {
        "type": "object",
        "description": "A unit of a class: what an LMS assignment links to with its `launch_url`. Every key is "
        "present.",
        "required": [
            "unit_id",
            "class_id",
            "name",
            "position",
            "app_launch_url",
            "launch_url",
            "created_at",
            "updated_at",
            "version",
        ],
        "properties": {
            "unit_id": _UNIT_ID_SCHEMA,
            "class_id": _CLASS_ID_SCHEMA,
            "name": {"type": "string", "example": "Unit 1: Waves"},
            "position": {"type": "integer", "minimum": 0, "description": "The ordering key (listings by position)."},
            "app_launch_url": {
                "type": ["string", "null"],
                "description": "The unit's own app launch URL; null: the class's or organisation's.",
            },
            "launch_url": {
                **_URL,
                "description": "The unit launch URL (LTI 1.1 launch URL and LTI 1.3 target link URI).",
                "example": f"{_CLASS_LAUNCH}/{_UNIT_1}",
            },
            "created_at": _TIMESTAMP,
            "updated_at": _nullable(_TIMESTAMP),
            "version": _VERSION_FIELD,
        },
        "example": _UNIT_EXAMPLES[0],
    },
    "UnitPage": _page("units", "Unit", "One page of the class's units, in position order."),
    "UnitList": {
        "type": "object",
        "description": "Every unit of the class in its new order (positions 0, 1, 2, ...).",
        "required": ["units"],
        "properties": {"units": {"type": "array", "items": _ref("Unit")}},
    },
    "UnitCreate": {
        "type": "object",
        "description": "A new unit: `name`; appended unless `position` is given.",
        "properties": _UNIT_FIELDS,
        "required": ["name"],
        "additionalProperties": False,
        "example": {"name": "Unit 1: Waves"},
    },
    "UnitUpdate": {
        "type": "object",
        "description": "The fields to change (at least one); `version` applies the change only to that version.",
        "properties": {**_UNIT_FIELDS, **_UPDATE_VERSION},
        "additionalProperties": False,
        "example": {"name": "Unit 1: Waves and sound", "version": 1},
    },
    "UnitReorder": {
        "type": "object",
        "description": "Every unit id of the class, each once, in the new order (else 400 `unit_ids_mismatch`).",
        "properties": {"unit_ids": {"type": "array", "items": {"type": "string"}}},
        "required": ["unit_ids"],
        "additionalProperties": False,
        "example": {"unit_ids": [_UNIT_2, _UNIT_1]},
    },
}

# -- exports -----------------------------------------------------------------------------------------

_TOOL_URLS_EXAMPLE = {
    "login_url": f"{_BASE}/lti/orgs/{_ORG_ID}/login",
    "redirect_url": f"{_BASE}/lti/orgs/{_ORG_ID}/launch",
    "jwks_url": f"{_BASE}/lti/orgs/{_ORG_ID}/jwks.json",
}
_EXPORT_CLASS_EXAMPLE = {
    "class_id": _CLASS_ID,
    "name": "Physics 101",
    "lti_enabled": True,
    "launch_url": _CLASS_LAUNCH,
    "lti13_target_link_uri": _CLASS_LAUNCH,
    "class_lms_url": _CLASS_LMS_URL,
}
_EXPORT_UNITS_EXAMPLE = [
    {
        "unit_id": u["unit_id"],
        "name": u["name"],
        "position": u["position"],
        "lti11_launch_url": u["launch_url"],
        "lti13_target_link_uri": u["launch_url"],
    }
    for u in _UNIT_EXAMPLES
]
_CONSUMER_KEYS_EXAMPLE = [{"key": "canvas-physics-2026", "label": "Canvas"}]
_EXPORT_HEADER = {
    "export": {"type": "string", "const": "lti-settings"},
    "version": {"type": "integer", "const": 1, "description": "The export format's version."},
    "exported_at": _TIMESTAMP,
    "consumer_keys": {
        "type": "array",
        "items": _ref("ExportConsumerKey"),
        "description": "The organisation's active LTI 1.1 consumer keys, oldest first (never a secret).",
    },
    "lti13": _ref("ExportLti13Urls"),
}
_CLASS_EXPORT_KEYS = ["class_id", "name", "lti_enabled", "launch_url", "lti13_target_link_uri", "class_lms_url"]
_CLASS_EXPORT_PROPERTIES = {
    "class_id": _CLASS_ID_SCHEMA,
    "name": {"type": "string"},
    "lti_enabled": {"type": "boolean"},
    "launch_url": {**_URL, "description": "The class launch URL (LTI 1.1)."},
    "lti13_target_link_uri": {**_URL, "description": "The same URL, as the LTI 1.3 target link URI."},
    "class_lms_url": {"type": ["string", "null"]},
}
_UNITS_EXPORT = {
    "units": {"type": "array", "items": _ref("ExportUnit"), "description": "Every unit, in position order."},
    "unit_count": {"type": "integer", "minimum": 0},
}
_CSV_EXAMPLE = (
    "\ufeffrow_type,class_id,class_name,unit_id,unit_name,position,lti11_launch_url,lti13_target_link_uri,"
    "class_lms_url,lti_enabled,consumer_keys,consumer_key_labels,lti13_login_url,lti13_redirect_url,"
    "lti13_jwks_url\r\n"
    f"class,{_CLASS_ID},Physics 101,,,,{_CLASS_LAUNCH},{_CLASS_LAUNCH},{_CLASS_LMS_URL},true,"
    f"canvas-physics-2026,Canvas,{_TOOL_URLS_EXAMPLE['login_url']},{_TOOL_URLS_EXAMPLE['redirect_url']},"
    f"{_TOOL_URLS_EXAMPLE['jwks_url']}\r\n"
    f"unit,{_CLASS_ID},Physics 101,{_UNIT_1},Unit 1: Waves,0,{_CLASS_LAUNCH}/{_UNIT_1},"
    f"{_CLASS_LAUNCH}/{_UNIT_1},,,,,,,\r\n"
)
_XML_EXAMPLE = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<cartridge_basiclti_link xmlns="http://www.imsglobal.org/xsd/imslticc_v1p0" '
    'xmlns:blti="http://www.imsglobal.org/xsd/imsbasiclti_v1p0" '
    'xmlns:lticm="http://www.imsglobal.org/xsd/imslticm_v1p0" '
    'xmlns:lticp="http://www.imsglobal.org/xsd/imslticp_v1p0">'
    "<blti:title>Physics 101</blti:title>"
    '<blti:extensions platform="canvas.instructure.com">'
    '<lticm:property name="privacy_level">public</lticm:property>'
    '<lticm:property name="domain">lti.example.edu</lticm:property></blti:extensions>'
    f"<blti:launch_url>{_CLASS_LAUNCH}</blti:launch_url>"
    f"<blti:secure_launch_url>{_CLASS_LAUNCH}</blti:secure_launch_url>"
    "<blti:vendor><lticp:code>lti-gateway</lticp:code><lticp:name>LTI Gateway</lticp:name></blti:vendor>"
    "</cartridge_basiclti_link>"
)
_DOWNLOAD_EXAMPLE = {
    "url": "https://lti-gateway-exports.s3.amazonaws.com/exports/org_0123456789abcdef/"
    "8f14e45fceea167a5a36dedd4bea2543/Physics-101-lti-settings.csv?X-Amz-Expires=900&X-Amz-Signature=...",
    "expires_in": 900,
    "format": "csv",
    "filename": "Physics-101-lti-settings.csv",
    "bytes": 7340032,
    "units": 18000,
}

EXPORT_SCHEMAS: dict[str, dict[str, Any]] = {
    "ExportConsumerKey": {
        "type": "object",
        "required": ["key", "label"],
        "properties": {"key": {"type": "string"}, "label": {"type": "string", "description": "Empty when unset."}},
        "example": _CONSUMER_KEYS_EXAMPLE[0],
    },
    "ExportLti13Urls": {
        "type": "object",
        "description": "The organisation's LTI 1.3 tool URLs an LMS admin registers.",
        "required": ["login_url", "redirect_url", "jwks_url"],
        "properties": {"login_url": _URL, "redirect_url": _URL, "jwks_url": _URL},
        "example": _TOOL_URLS_EXAMPLE,
    },
    "ExportUnit": {
        "type": "object",
        "required": ["unit_id", "name", "position", "lti11_launch_url", "lti13_target_link_uri"],
        "properties": {
            "unit_id": _UNIT_ID_SCHEMA,
            "name": {"type": "string"},
            "position": {"type": "integer", "minimum": 0},
            "lti11_launch_url": _URL,
            "lti13_target_link_uri": _URL,
        },
        "example": _EXPORT_UNITS_EXAMPLE[0],
    },
    "ExportClass": {
        "type": "object",
        "description": "A class in an export (its units are in the export's `units`).",
        "required": _CLASS_EXPORT_KEYS,
        "properties": _CLASS_EXPORT_PROPERTIES,
        "example": _EXPORT_CLASS_EXAMPLE,
    },
    "ExportClassWithUnits": {
        "type": "object",
        "description": "A class of the organisation export, with its units.",
        "required": [*_CLASS_EXPORT_KEYS, "units", "unit_count"],
        "properties": {**_CLASS_EXPORT_PROPERTIES, **_UNITS_EXPORT},
    },
    "ExportClassSettings": {
        "type": "object",
        "description": "A class's LTI settings (`format=json`), answered as a file (`Content-Disposition: "
        "attachment`).",
        "required": ["export", "version", "exported_at", "class", "consumer_keys", "lti13", "units", "unit_count"],
        "properties": {**_EXPORT_HEADER, "class": _ref("ExportClass"), **_UNITS_EXPORT},
        "example": {
            "export": "lti-settings",
            "version": 1,
            "exported_at": _UPDATED,
            "class": _EXPORT_CLASS_EXAMPLE,
            "consumer_keys": _CONSUMER_KEYS_EXAMPLE,
            "lti13": _TOOL_URLS_EXAMPLE,
            "units": _EXPORT_UNITS_EXAMPLE,
            "unit_count": 2,
        },
    },
    "ExportOrgSettings": {
        "type": "object",
        "description": "Every class of the organisation with its units (`format=json`), answered as a file.",
        "required": ["export", "version", "exported_at", "org_id", "consumer_keys", "lti13", "classes", "class_count"],
        "properties": {
            **_EXPORT_HEADER,
            "org_id": {"type": "string", "example": _ORG_ID},
            "classes": {"type": "array", "items": _ref("ExportClassWithUnits")},
            "class_count": {"type": "integer", "minimum": 0},
        },
        "example": {
            "export": "lti-settings",
            "version": 1,
            "exported_at": _UPDATED,
            "org_id": _ORG_ID,
            "consumer_keys": _CONSUMER_KEYS_EXAMPLE,
            "lti13": _TOOL_URLS_EXAMPLE,
            "classes": [{**_EXPORT_CLASS_EXAMPLE, "units": _EXPORT_UNITS_EXAMPLE, "unit_count": 2}],
            "class_count": 1,
        },
    },
    "ExportDownload": {
        "type": "object",
        "description": "An export too large to answer inline (any format): fetch `url` within `expires_in` "
        "seconds, without an Authorization header.",
        "required": ["url", "expires_in", "format", "filename", "bytes", "units"],
        "properties": {
            "url": {**_URL, "description": "A presigned S3 GET URL (the URL is the credential)."},
            "expires_in": {"type": "integer", "minimum": 1, "example": 900},
            "format": {"type": "string", "enum": ["csv", "json", "cc", "xml"]},
            "filename": {"type": "string", "example": "Physics-101-lti-settings.csv"},
            "bytes": {"type": "integer", "minimum": 0},
            "units": {"type": "integer", "minimum": 0, "description": "Unit rows in the export."},
        },
        "example": _DOWNLOAD_EXAMPLE,
    },
}

# -- LTI 1.3 platforms and LTI 1.1 bindings ----------------------------------------------------------

_TOOL_PEM = (
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "...\n-----END PUBLIC KEY-----\n"
)
_PLATFORM_EXAMPLE = {
    "id": _PLATFORM_ID,
    "url": "https://canvas.instructure.com",
    "clientId": "10000000000001",
    "name": "Canvas",
    "authenticationEndpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "accesstokenEndpoint": "https://sso.canvaslms.com/login/oauth2/token",
    "authConfig": {"method": "JWK_SET", "key": "https://sso.canvaslms.com/api/lti/security/jwks"},
    "active": True,
    "publicKey": _TOOL_PEM,
    "deploymentIds": ["42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"],
    "allowAnonymous": False,
    "tenantScoped": True,
    "createdAt": _CREATED,
    "updatedAt": _UPDATED,
    "version": 2,
}
_PLATFORM_BODY_EXAMPLE = {
    k: _PLATFORM_EXAMPLE[k]
    for k in ("url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint", "authConfig", "deploymentIds")
}
_BINDING_EXAMPLE = {
    "id": _BINDING_ID,
    "platformId": _PLATFORM_ID,
    "deploymentId": "42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
    "consumerKey": "canvas-physics-2026",
    "status": "pending",
    "reason": "signature_missing",
    "firstSeenAt": _CREATED,
    "version": 1,
}
_PLATFORM_FIELDS = {
    "url": {"type": "string", "format": "uri", "description": "The platform's issuer (https, no query)."},
    "clientId": {"type": "string", "maxLength": 255, "description": "The client id the platform gave the tool."},
    "name": {"type": "string", "maxLength": 200},
    "authenticationEndpoint": {"type": "string", "format": "uri", "description": "The OIDC authorisation URL."},
    "accesstokenEndpoint": {"type": "string", "format": "uri", "description": "The OAuth 2 token URL."},
    "authorizationServer": {
        "type": ["string", "null"],
        "description": "The token request's `aud` when it is not the token URL; null clears it.",
    },
    "authConfig": {
        "type": "object",
        "required": ["method", "key"],
        "properties": {
            "method": {"type": "string", "enum": ["JWK_SET", "JWK_KEY", "RSA_KEY"]},
            "key": {
                "description": "JWK_SET: the platform's JWKS URL; JWK_KEY: an RSA public JWK (object or JSON "
                "text); RSA_KEY: a PEM public key. RSA of at least 2048 bits, never a private key."
            },
        },
    },
    "deploymentIds": {
        "type": "array",
        "maxItems": 100,
        "items": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "The deployment ids launches may carry (may be empty until the LMS shows one).",
    },
    "allowAnonymous": {"type": "boolean", "description": "Accept launches without a user (`sub`)."},
    "active": {"type": "boolean", "description": "false: logins and launches are refused (kept for later)."},
}

PLATFORM_SCHEMAS: dict[str, dict[str, Any]] = {
    "PlatformAuthConfig": {
        "type": "object",
        "description": "How the platform's signatures are verified.",
        "required": ["method", "key"],
        "properties": {
            "method": {"type": "string", "enum": ["JWK_SET", "JWK_KEY", "RSA_KEY"]},
            "key": {
                "type": "string",
                "description": "JWK_SET: the JWKS URL; JWK_KEY: the JWK as compact JSON text; RSA_KEY: the PEM.",
            },
        },
        "example": _PLATFORM_EXAMPLE["authConfig"],
    },
    "Platform": {
        "type": "object",
        "description": "An LTI 1.3 platform registration (the LTIAAS `Platform`, plus the gateway's keys).",
        "required": [
            "id",
            "url",
            "clientId",
            "name",
            "authenticationEndpoint",
            "accesstokenEndpoint",
            "authConfig",
            "active",
            "publicKey",
            "deploymentIds",
            "allowAnonymous",
            "tenantScoped",
            "createdAt",
            "updatedAt",
            "version",
        ],
        "properties": {
            "id": {"type": "string", "pattern": "^plt_", "example": _PLATFORM_ID},
            "url": {"type": "string", "description": "The issuer.", "example": _PLATFORM_EXAMPLE["url"]},
            "clientId": {"type": "string"},
            "name": {"type": "string"},
            "authenticationEndpoint": {"type": "string"},
            "accesstokenEndpoint": {"type": "string"},
            "authConfig": _ref("PlatformAuthConfig"),
            "authorizationServer": {"type": "string", "description": "Present only when set."},
            "active": {"type": "boolean", "description": "false: deactivated (logins and launches refused)."},
            "publicKey": {
                "type": ["string", "null"],
                "description": "The tool's current public key (PEM) this registration's launches are signed "
                "with (read only).",
            },
            "deploymentIds": {"type": "array", "items": {"type": "string"}},
            "allowAnonymous": {"type": "boolean"},
            "tenantScoped": {
                "type": "boolean",
                "description": "false: registered before tenant scoping (the stack-wide URLs and key set).",
            },
            "createdAt": _TIMESTAMP,
            "updatedAt": _TIMESTAMP,
            "version": _VERSION_FIELD,
        },
        "example": _PLATFORM_EXAMPLE,
    },
    "PlatformDeleted": {
        "description": "The platform as it was, with `deleted: true` (its issuer and client id are free again).",
        "allOf": [
            _ref("Platform"),
            {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "boolean", "const": True}}},
        ],
        "example": {**_PLATFORM_EXAMPLE, "deleted": True},
    },
    "PlatformPage": _page("platforms", "Platform", "One page of the organisation's platforms."),
    "PlatformCreate": {
        "type": "object",
        "description": "A platform registration (LTIAAS `Platform` JSON). `id`, `publicKey`, `createdAt`, "
        "`updatedAt` and `tenantScoped` are accepted and ignored (a client may send back what it read).",
        "properties": _PLATFORM_FIELDS,
        "required": ["url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint", "authConfig"],
        "example": _PLATFORM_BODY_EXAMPLE,
    },
    "PlatformUpdate": {
        "type": "object",
        "description": "The fields to change (omitted fields keep their values); `version` applies the change "
        "only to that version. Read-only fields sent back are ignored.",
        "properties": {**_PLATFORM_FIELDS, **_UPDATE_VERSION},
        "example": {"deploymentIds": ["42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", "43:1f2e7c"], "version": 1},
    },
    "Lti11Binding": {
        "type": "object",
        "description": "An LTI 1.1 -> 1.3 binding awaiting (or given) an owner's decision.",
        "required": ["id", "platformId", "deploymentId", "consumerKey", "status", "firstSeenAt", "version"],
        "properties": {
            "id": {"type": "string", "pattern": "^lb_[0-9a-f]{32}$", "example": _BINDING_ID},
            "platformId": {"type": "string", "example": _PLATFORM_ID},
            "deploymentId": {"type": "string"},
            "consumerKey": {"type": "string", "description": "The LTI 1.1 consumer key the launch claimed."},
            "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
            "reason": {
                "type": "string",
                "enum": ["signature_missing", "signature_mismatch"],
                "description": "Why the claim could not be verified.",
            },
            "firstSeenAt": _TIMESTAMP,
            "decidedAt": {**_TIMESTAMP, "description": "Present once decided."},
            "decidedBy": {"type": "string", "description": "The deciding credential's id; present once decided."},
            "version": _VERSION_FIELD,
        },
        "example": _BINDING_EXAMPLE,
    },
    "Lti11BindingPage": _page("bindings", "Lti11Binding", "One page of the platform's LTI 1.1 bindings."),
    "Lti11BindingDecision": {
        "type": "object",
        "description": "No fields: an empty body or `{}`.",
        "maxProperties": 0,
        "example": {},
    },
    "RegistrationUrlRequest": {
        "type": "object",
        "properties": {
            "expires_in_seconds": {
                "type": "integer",
                "minimum": 300,
                "maximum": 2592000,
                "description": "Lifetime (default 604800: a week).",
            },
            "reusable": {"type": "boolean", "description": "Usable for several registrations (default false)."},
        },
        "additionalProperties": False,
        "example": {"expires_in_seconds": 86400, "reusable": False},
    },
    "RegistrationUrl": {
        "type": "object",
        "description": "A dynamic-registration URL for an LMS admin (shown once: only its hash is stored).",
        "required": ["registration_url", "expires_at", "reusable"],
        "properties": {
            "registration_url": {"type": "string", "format": "uri", "pattern": "/lti/register/[A-Za-z0-9_-]+$"},
            "expires_at": _TIMESTAMP,
            "reusable": {"type": "boolean"},
        },
        "example": {
            "registration_url": f"{_BASE}/lti/register/Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWpr",
            "expires_at": "2026-09-08T08:30:00Z",
            "reusable": False,
        },
    },
}

# -- the tool's public keys --------------------------------------------------------------------------

_JWK_EXAMPLE = {
    "kty": "RSA",
    "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2"
    "Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjy"
    "kkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rE"
    "jGoXbAAEgAqeGUxrcIlbjXfbcmw",
    "e": "AQAB",
    "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "alg": "RS256",
    "use": "sig",
}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")

JWKS_SCHEMAS: dict[str, dict[str, Any]] = {
    "JwksKey": {
        "type": "object",
        "description": "One of the tool's RSA public keys (RFC 7517); never a private member.",
        "required": ["kty", "n", "e", "kid", "alg", "use"],
        "properties": {
            "kty": {"type": "string", "const": "RSA"},
            "n": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "e": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "kid": {"type": "string", "description": "The key's RFC 7638 thumbprint."},
            "alg": {"type": "string", "const": "RS256"},
            "use": {"type": "string", "const": "sig"},
        },
        "not": {"anyOf": [{"required": [member]} for member in _PRIVATE_MEMBERS]},
        "example": _JWK_EXAMPLE,
    },
    "Jwks": {
        "type": "object",
        "description": "A JSON Web Key Set: the current key first, then the previous one while it is still "
        "published after a rotation (empty for a stack-wide set that was never created).",
        "required": ["keys"],
        "properties": {"keys": {"type": "array", "maxItems": 2, "items": _ref("JwksKey")}},
        "example": {"keys": [_JWK_EXAMPLE]},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {**CLASS_SCHEMAS, **EXPORT_SCHEMAS, **PLATFORM_SCHEMAS, **JWKS_SCHEMAS}

# -- the answers -------------------------------------------------------------------------------------


def _json(name: str, example: Any) -> dict[str, dict[str, Any]]:
    return {"application/json": {"schema": _ref(name), "example": example}}


def _one_of_json(names: tuple[str, ...], example: Any) -> dict[str, Any]:
    return {"schema": {"oneOf": [_ref(n) for n in names]}, "example": example}


_CLASS_PATH = "/api/classes/{class_id}"
_UNIT_PATH = "/api/classes/{class_id}/units/{unit_id}"
_PLATFORM_PATH = "/api/platforms/{platform_id}"
_BINDING_PATH = "/api/platforms/{platform_id}/lti11-bindings/{binding_id}"

_CSV = {
    "schema": {
        "type": "string",
        "description": "UTF-8 with a BOM, RFC 4180 quoting, CRLF: one `class` row per class, then one `unit` row "
        "per unit (`text/csv; charset=utf-8`).",
    },
    "example": _CSV_EXAMPLE,
}
_XML = {
    "schema": {"type": "string", "description": "An LTI 1.1 `cartridge_basiclti_link` (Canvas: Paste XML)."},
    "example": _XML_EXAMPLE,
}
_CARTRIDGE = {
    "schema": {
        "type": "string",
        "format": "binary",
        "description": "An IMS Common Cartridge 1.1 thin cartridge (a zip archive, `.imscc`): `imsmanifest.xml` and "
        "one `{unit_id}.xml` LTI link per unit. Chosen by `format=cc` or `Accept: application/vnd.ims.imsccv1p1` "
        "or `application/zip`.",
    },
    "example": "PK\u0003\u0004... (zip: imsmanifest.xml, unt_0123456789abcdef.xml, unt_fedcba9876543210.xml)",
}
_DELETED_PLATFORM = {**_PLATFORM_EXAMPLE, "deleted": True}

RESPONSES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    # Classes and units.
    ("POST", "/api/classes"): _json("Class", {**_CLASS_EXAMPLE, "lms_context_ids": [], "lms_contexts": []}),
    ("GET", "/api/classes"): _json("ClassPage", {"classes": [_CLASS_EXAMPLE], "next": None}),
    ("GET", _CLASS_PATH): _json("Class", _CLASS_EXAMPLE),
    ("PATCH", _CLASS_PATH): _json("Class", {**_CLASS_EXAMPLE, "version": 3}),
    ("POST", f"{_CLASS_PATH}/units"): _json("Unit", _UNIT_EXAMPLES[0]),
    ("GET", f"{_CLASS_PATH}/units"): _json(
        "UnitPage", {"units": _UNIT_EXAMPLES, "next": "eyJwayI6IkNMUyNjbHNfMDEyMzQ1Njc4OWFiY2RlZiJ9"}
    ),
    ("POST", f"{_CLASS_PATH}/units/reorder"): _json(
        "UnitList",
        {"units": [{**_UNIT_EXAMPLES[1], "position": 0}, {**_UNIT_EXAMPLES[0], "position": 1}]},
    ),
    ("GET", _UNIT_PATH): _json("Unit", _UNIT_EXAMPLES[0]),
    ("PATCH", _UNIT_PATH): _json("Unit", {**_UNIT_EXAMPLES[0], "name": "Unit 1: Waves and sound", "version": 2}),
    # Exports: the file itself, or (too large to answer inline) a download link as JSON.
    ("GET", f"{_CLASS_PATH}/lti-settings"): {
        "text/csv": _CSV,
        "application/json": _one_of_json(
            ("ExportClassSettings", "ExportDownload"), SCHEMAS["ExportClassSettings"]["example"]
        ),
        "application/vnd.ims.imsccv1p1": _CARTRIDGE,
        "application/xml": _XML,
    },
    ("GET", f"{_UNIT_PATH}/lti-config.xml"): {"application/xml": _XML},
    ("GET", "/api/lti-settings"): {
        "text/csv": _CSV,
        "application/json": _one_of_json(
            ("ExportOrgSettings", "ExportDownload"), SCHEMAS["ExportOrgSettings"]["example"]
        ),
    },
    # LTI 1.3 platforms.
    ("GET", "/api/platforms"): _json("PlatformPage", {"platforms": [_PLATFORM_EXAMPLE], "next": None}),
    ("POST", "/api/platforms"): _json("Platform", {**_PLATFORM_EXAMPLE, "version": 1, "updatedAt": _CREATED}),
    ("POST", "/api/platforms/registration-url"): _json("RegistrationUrl", SCHEMAS["RegistrationUrl"]["example"]),
    ("GET", _PLATFORM_PATH): _json("Platform", _PLATFORM_EXAMPLE),
    ("PUT", _PLATFORM_PATH): _json("Platform", {**_PLATFORM_EXAMPLE, "version": 3}),
    ("DELETE", _PLATFORM_PATH): _json("PlatformDeleted", _DELETED_PLATFORM),
    ("POST", f"{_PLATFORM_PATH}/activate"): _json("Platform", _PLATFORM_EXAMPLE),
    ("POST", f"{_PLATFORM_PATH}/deactivate"): _json("Platform", {**_PLATFORM_EXAMPLE, "active": False}),
    ("GET", f"{_PLATFORM_PATH}/lti11-bindings"): _json(
        "Lti11BindingPage", {"bindings": [_BINDING_EXAMPLE], "next": None}
    ),
    ("POST", f"{_BINDING_PATH}/approve"): _json(
        "Lti11Binding",
        {
            **_BINDING_EXAMPLE,
            "status": "approved",
            "decidedAt": _UPDATED,
            "decidedBy": "ak_0123456789abcdef",
            "version": 2,
        },
    ),
    ("POST", f"{_BINDING_PATH}/reject"): _json(
        "Lti11Binding",
        {
            **_BINDING_EXAMPLE,
            "status": "rejected",
            "decidedAt": _UPDATED,
            "decidedBy": "ak_0123456789abcdef",
            "version": 2,
        },
    ),
    # The tool's public keys.
    ("GET", "/lti/orgs/{org_id}/jwks.json"): _json("Jwks", SCHEMAS["Jwks"]["example"]),
    ("GET", "/.well-known/jwks.json"): _json("Jwks", {"keys": []}),
    # Pages for people (an LMS window, a student's browser).
    ("GET", "/lti/register/{token}"): {
        "text/html": {
            "schema": {
                **_HTML,
                "description": 'The registration is done: the page posts `{subject: "org.imsglobal.lti.close"}` '
                "to the LMS window. A failure is a page too, with its status.",
            },
            "example": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Tool registered'
            "</title>...</head><body><h1>Tool registered</h1>...</body></html>\n",
        }
    },
    ("GET", "/classes/{class_id}/open"): {
        "text/html": {
            "schema": {
                **_HTML,
                "description": "A page saying the link leaves for an origin the class's organisation is not "
                "known to use, with one link to click (no automatic redirect). The usual answer is a 302 to the "
                "Class LMS URL, without a body.",
            },
            "example": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>This link leaves '
            'lti.example.edu</title>...</head><body>...<a href="https://lms.example.org/course/7" '
            'rel="noopener noreferrer">https://lms.example.org/course/7</a></body></html>\n',
        }
    },
}

# -- the request bodies (as strict as the generator's BODIES) ------------------------------------------


def _body(name: str, example: Any | None = None) -> dict[str, dict[str, Any]]:
    return {
        "application/json": {"schema": _ref(name), "example": SCHEMAS[name]["example"] if example is None else example}
    }


REQUESTS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("POST", "/api/classes"): _body("ClassCreate"),
    ("PATCH", _CLASS_PATH): _body("ClassUpdate"),
    ("POST", f"{_CLASS_PATH}/units"): _body("UnitCreate"),
    ("PATCH", _UNIT_PATH): _body("UnitUpdate"),
    ("POST", f"{_CLASS_PATH}/units/reorder"): _body("UnitReorder"),
    ("POST", "/api/platforms"): _body("PlatformCreate"),
    ("PUT", _PLATFORM_PATH): _body("PlatformUpdate"),
    ("POST", "/api/platforms/registration-url"): _body("RegistrationUrlRequest"),
    ("POST", f"{_BINDING_PATH}/approve"): _body("Lti11BindingDecision"),
    ("POST", f"{_BINDING_PATH}/reject"): _body("Lti11BindingDecision"),
}
