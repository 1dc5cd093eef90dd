"""Generate the OpenAPI document of every route: ``python -m lti_gateway.local.openapi [--check]``.

Nothing here lists the routes: they come from template.yaml's ``HttpApi`` events (what API Gateway
routes), each checked against its function's resolver (what the code serves; a template route no
handler serves, or a handler route the template does not expose, fails the build). Summaries come
from each handler's route table in its module docstring (the token function's session column says
which app API session each route takes); the error answers from rules over the route (who may call it,
whether it takes a body or path parameters) plus the status codes docs/api.md documents.

What a success answers and what a body holds come from the schema modules beside this one
(``openapi_org.py``, ``openapi_admin.py``, ``openapi_app.py``): each exports ``SCHEMAS`` (merged into
components/schemas; a name two modules define fails the build), ``RESPONSES`` ((METHOD, path) -> the
success answer's media types) and ``REQUESTS`` ((METHOD, path) -> the request body's media types).
Each operation gets a stable ``operationId`` (:data:`OPERATION_IDS`: a new route without one fails the
build) and a tag
(:data:`TAGS`), and the greedy line item route of the template (``/api/lineitems/{id+}``) is described
as the operations clients see: ``/api/lineitems/{id}`` (GET, PUT, DELETE) and
``/api/lineitems/{id}/scores`` (GET, POST).

The result is written to ``lti_gateway/openapi.json`` (shipped in the layer, served by the keys
function at ``GET /api/openapi.json`` with ``servers`` naming the stack's own base URL); ``--check``
exits 1 when that file is not what the routes generate (``tests/infrastructure/test_openapi.py`` runs
the same comparison).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from lti_gateway.local import template as tpl
from lti_gateway.local.server import default_template
from lti_gateway.version import VERSION

OUTPUT = Path(__file__).resolve().parents[1] / "openapi.json"
TITLE = "LTI Gateway"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The schema modules (SCHEMA_CONTRACT17): this package's own routes, the admin API's, the app API's.
SCHEMA_MODULES = ("lti_gateway.local.openapi_org", "lti_gateway.local.openapi_admin", "lti_gateway.local.openapi_app")
# The shipped document's server: the stack's public base URL (the served copy names the real one).
SERVERS = [
    {
        "url": "https://{domain}",
        "description": "The stack's public base URL: its custom domain (the DomainName parameter), else the "
        "HTTP API's own `https://{api-id}.execute-api.{region}.amazonaws.com`. `GET /api/openapi.json` of a "
        "deployed stack names it here.",
        "variables": {"domain": {"default": "lti.example.edu", "description": "The stack's host name."}},
    }
]

# -- who may call a route ------------------------------------------------------------------------------

PUBLIC = {
    ("GET", "/api/openapi.json"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/lti/orgs/{org_id}/jwks.json"),
    ("GET", "/lti/register/{token}"),
    ("GET", "/classes/{class_id}/open"),
    # The owner console (issue 15): its page and assets, and its session (a cookie, not a bearer key).
    ("GET", "/console"),
    ("GET", "/console/assets/{name}"),
    ("POST", "/console/session"),
    ("GET", "/console/session"),
    ("DELETE", "/console/session"),
}
# Bearer routes members may not call (docs/api.md: members cannot see or create LTI keys, manage
# credentials, platforms, the tool's configuration, or export the whole organisation).
OWNER_ONLY_PREFIXES = (
    "/api/keys",
    "/api/credentials",
    "/api/platforms",
    "/api/tool-",
    "/api/lti-settings",
    "/api/launch-errors",
)
SESSION_ONLY = {
    ("GET", "/api/idtoken"),
    ("POST", "/api/deeplinking"),
    ("POST", "/api/deeplinking/form"),
    ("POST", "/api/console-link"),
}

# -- what a route answers when it succeeds (everything else: 200 JSON) ----------------------------------

SUCCESS = {
    # A launch URL opened in a browser: a page saying what it is for.
    ("GET", "/lti/launch/{class_id}"): 200,
    ("GET", "/lti/launch/{class_id}/{unit_id}"): 200,
    ("GET", "/lti/launch"): 200,
    ("GET", "/lti/orgs/{org_id}/launch"): 200,
    ("POST", "/api/keys"): 201,
    ("POST", "/api/credentials"): 201,
    ("POST", "/api/classes"): 201,
    ("POST", "/api/classes/{class_id}/units"): 201,
    ("POST", "/api/platforms"): 201,
    ("POST", "/api/platforms/registration-url"): 201,
    ("POST", "/api/lineitems"): 201,
    ("POST", "/api/console-link"): 201,
    ("DELETE", "/api/classes/{class_id}"): 204,
    ("DELETE", "/api/classes/{class_id}/units/{unit_id}"): 204,
    ("DELETE", "/api/lineitems/{id}"): 204,
    ("POST", "/api/lineitems/{id}/scores"): 204,
    ("DELETE", "/api/servicekey"): 204,
    ("GET", "/classes/{class_id}/open"): 302,
}
CONFLICTS = {
    ("POST", "/api/keys"),
    ("POST", "/api/keys/{key}/rotate"),
    ("DELETE", "/api/keys/{key}"),
    ("POST", "/api/credentials"),
    ("DELETE", "/api/credentials/{credential_id}"),
    ("PATCH", "/api/classes/{class_id}"),
    ("POST", "/api/classes/{class_id}/units"),
    ("POST", "/api/classes/{class_id}/units/reorder"),
    ("PATCH", "/api/classes/{class_id}/units/{unit_id}"),
    ("POST", "/api/platforms"),
    ("PUT", "/api/platforms/{platform_id}"),
    ("POST", "/api/console-link"),  # 409 no_class: the launch names no class
    # 409 already_approved / already_rejected (found by the conformance run: approving twice).
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/approve"),
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/reject"),
    # 409 label_taken / key_taken in the Data API envelope (found by `make conformance`: a label set twice).
    ("POST", "/{lts_version}/consumer/keys/lti"),
}
# Routes that open or seal a secret with KMS (502 kms_unavailable when the key is refused).
SEALING = {
    ("POST", "/api/keys"),
    ("POST", "/api/keys/{key}/rotate"),
    ("POST", "/api/credentials"),
    ("POST", "/api/tool-keys/rotate"),
    ("GET", "/api/tool-configuration"),
    ("GET", "/api/tool-configuration/canvas"),
    ("POST", "/{lts_version}/consumer/keys/lti"),
}


# -- query parameters and request bodies -----------------------------------------------------------------

_STRING = {"type": "string"}
# The paging parameters of every listing of the JSON API: components/parameters Limit and Next.
_PAGE = [("limit", {"$ref": "#/components/parameters/Limit"}), ("next", {"$ref": "#/components/parameters/Next"})]
_LOGIN_QUERY = [
    ("iss", _STRING),
    ("login_hint", _STRING),
    ("target_link_uri", _STRING),
    ("client_id", _STRING),
    ("lti_message_hint", _STRING),
    ("lti_deployment_id", _STRING),
]
QUERY: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {
    ("GET", "/api/keys"): _PAGE,
    ("GET", "/api/credentials"): _PAGE,
    ("GET", "/api/classes"): _PAGE,
    ("GET", "/api/classes/{class_id}/units"): _PAGE,
    ("GET", "/api/platforms"): [*_PAGE, ("url", _STRING), ("clientId", _STRING)],
    ("GET", "/api/tool-configuration/canvas"): [("inline_jwk", {"type": "string", "enum": ["true", "false"]})],
    ("GET", "/api/classes/{class_id}/lti-settings"): [
        ("format", {"type": "string", "enum": ["csv", "json", "cc", "xml"]})
    ],
    ("GET", "/api/lti-settings"): [("format", {"type": "string", "enum": ["csv", "json"]})],
    ("GET", "/lti/register/{token}"): [("openid_configuration", _STRING), ("registration_token", _STRING)],
    ("GET", "/lti/login"): _LOGIN_QUERY,
    ("GET", "/lti/orgs/{org_id}/login"): _LOGIN_QUERY,
    ("GET", "/api/idtoken"): [("raw", {"type": "string", "enum": ["true", "false"]})],
    ("GET", "/api/memberships"): [("role", _STRING), ("limit", _STRING), ("resourceLinkId", _STRING), ("url", _STRING)],
    ("GET", "/api/lineitems"): [
        ("resourceLinkId", _STRING),
        ("resourceId", _STRING),
        ("tag", _STRING),
        ("limit", _STRING),
        ("url", _STRING),
        ("label", _STRING),
    ],
    ("GET", "/api/lineitems/{id}/scores"): [
        ("userId", _STRING),
        ("user_id", _STRING),
        ("limit", _STRING),
        ("url", _STRING),
    ],
    ("GET", "/api/platforms/{platform_id}/lti11-bindings"): [
        *_PAGE,
        ("status", {"type": "string", "enum": ["pending", "approved", "rejected"]}),
    ],
}
HEADERS: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {
    ("POST", "/api/keys"): [("Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255})],
}

# Routes that answer 401 although they need no credential (the console's session routes).
SESSION_REFUSALS = {("POST", "/console/session"), ("GET", "/console/session"), ("DELETE", "/console/session")}
LAUNCH_FORM = {"type": "object", "additionalProperties": {"type": "string"}}


# The launch and login forms (what an LMS posts): an LTI 1.3 id_token and state, or LTI 1.1 parameters
# signed with OAuth 1.0a; a login initiation.
LAUNCH_FORM_EXAMPLE = {"id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJpc3MiOiIuLi4ifQ.c2ln", "state": "st_0123"}
LOGIN_FORM_EXAMPLE = {
    "iss": "https://canvas.example.edu",
    "login_hint": "user-2",
    "target_link_uri": "https://lti.example.edu/lti/orgs/org_0123456789abcdef/launch",
    "client_id": "10000000000042",
}
HTML_EXAMPLE = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>LTI Gateway</title>...</html>\n'

# Summaries of routes whose docstring line names several routes at once (``GET|POST /lti/login, POST
# /lti/launch   the same for ...``): the table's parser takes one path per line.
SUMMARIES: dict[tuple[str, str], str] = {
    ("GET", "/lti/login"): "LTI 1.3 OIDC login initiation for registrations made before tenant scoping: 302 to "
    "the platform (or a page storing state and nonce in the platform's storage frame)",
    ("POST", "/lti/login"): "LTI 1.3 OIDC login initiation (form post) for registrations made before tenant scoping",
    ("POST", "/lti/launch"): "LTI 1.3 launch (the redirect URI: id_token + state) for registrations made "
    "before tenant scoping",
}

# -- names: operationIds and tags ---------------------------------------------------------------------------

# One stable operationId per operation (what a generated client's methods are called). A route without
# one fails the build: name it here.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/.well-known/jwks.json"): "getStackJwks",
    ("GET", "/api/classes"): "listClasses",
    ("POST", "/api/classes"): "createClass",
    ("GET", "/api/classes/{class_id}"): "getClass",
    ("PATCH", "/api/classes/{class_id}"): "updateClass",
    ("DELETE", "/api/classes/{class_id}"): "deleteClass",
    ("GET", "/api/classes/{class_id}/lti-settings"): "exportClassLtiSettings",
    ("GET", "/api/classes/{class_id}/units"): "listUnits",
    ("POST", "/api/classes/{class_id}/units"): "createUnit",
    ("POST", "/api/classes/{class_id}/units/reorder"): "reorderUnits",
    ("GET", "/api/classes/{class_id}/units/{unit_id}"): "getUnit",
    ("PATCH", "/api/classes/{class_id}/units/{unit_id}"): "updateUnit",
    ("DELETE", "/api/classes/{class_id}/units/{unit_id}"): "deleteUnit",
    ("GET", "/api/classes/{class_id}/units/{unit_id}/lti-config.xml"): "getUnitLtiConfigXml",
    ("POST", "/api/console-link"): "createConsoleLink",
    ("GET", "/api/credentials"): "listCredentials",
    ("POST", "/api/credentials"): "createCredential",
    ("DELETE", "/api/credentials/{credential_id}"): "revokeCredential",
    ("POST", "/api/deeplinking"): "createDeepLinkingMessage",
    ("POST", "/api/deeplinking/form"): "createDeepLinkingForm",
    ("GET", "/api/idtoken"): "getIdToken",
    ("GET", "/api/keys"): "listConsumerKeys",
    ("POST", "/api/keys"): "createConsumerKey",
    ("GET", "/api/keys/{key}"): "getConsumerKey",
    ("DELETE", "/api/keys/{key}"): "revokeConsumerKey",
    ("POST", "/api/keys/{key}/rotate"): "rotateConsumerKey",
    ("GET", "/api/launch-errors/{reference}"): "getLaunchError",
    ("GET", "/api/lineitems"): "listLineItems",
    ("POST", "/api/lineitems"): "createLineItem",
    ("GET", "/api/lineitems/{id}"): "getLineItem",
    ("PUT", "/api/lineitems/{id}"): "updateLineItem",
    ("DELETE", "/api/lineitems/{id}"): "deleteLineItem",
    ("GET", "/api/lineitems/{id}/scores"): "listScores",
    ("POST", "/api/lineitems/{id}/scores"): "postScore",
    ("GET", "/api/lti-settings"): "exportLtiSettings",
    ("GET", "/api/memberships"): "listMemberships",
    ("GET", "/api/openapi.json"): "getOpenApiDocument",
    ("GET", "/api/org"): "getOrganisation",
    ("PATCH", "/api/org"): "updateOrganisation",
    ("GET", "/api/platforms"): "listPlatforms",
    ("POST", "/api/platforms"): "createPlatform",
    ("POST", "/api/platforms/registration-url"): "createRegistrationUrl",
    ("GET", "/api/platforms/{platform_id}"): "getPlatform",
    ("PUT", "/api/platforms/{platform_id}"): "updatePlatform",
    ("DELETE", "/api/platforms/{platform_id}"): "deletePlatform",
    ("POST", "/api/platforms/{platform_id}/activate"): "activatePlatform",
    ("POST", "/api/platforms/{platform_id}/deactivate"): "deactivatePlatform",
    ("GET", "/api/platforms/{platform_id}/lti11-bindings"): "listLti11Bindings",
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/approve"): "approveLti11Binding",
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/reject"): "rejectLti11Binding",
    ("DELETE", "/api/servicekey"): "revokeServiceKey",
    ("GET", "/api/tool-configuration"): "getToolConfiguration",
    ("GET", "/api/tool-configuration/canvas"): "getCanvasToolConfiguration",
    ("POST", "/api/tool-keys/rotate"): "rotateToolKeys",
    ("GET", "/classes/{class_id}/open"): "openClassInLms",
    ("GET", "/console"): "getConsolePage",
    ("GET", "/console/assets/{name}"): "getConsoleAsset",
    ("GET", "/console/session"): "getConsoleSession",
    ("POST", "/console/session"): "signInToConsole",
    ("DELETE", "/console/session"): "signOutOfConsole",
    ("GET", "/lti/launch"): "describeStackLaunchUrl",
    ("POST", "/lti/launch"): "launchStackWide",
    ("GET", "/lti/launch/{class_id}"): "describeClassLaunchUrl",
    ("POST", "/lti/launch/{class_id}"): "launchClass",
    ("GET", "/lti/launch/{class_id}/{unit_id}"): "describeUnitLaunchUrl",
    ("POST", "/lti/launch/{class_id}/{unit_id}"): "launchUnit",
    ("GET", "/lti/login"): "startStackWideLogin",
    ("POST", "/lti/login"): "startStackWideLoginByForm",
    ("GET", "/lti/orgs/{org_id}/jwks.json"): "getOrganisationJwks",
    ("GET", "/lti/orgs/{org_id}/launch"): "describeOrganisationLaunchUrl",
    ("POST", "/lti/orgs/{org_id}/launch"): "launchOrganisation",
    ("GET", "/lti/orgs/{org_id}/login"): "startOrganisationLogin",
    ("POST", "/lti/orgs/{org_id}/login"): "startOrganisationLoginByForm",
    ("GET", "/lti/register/{token}"): "startDynamicRegistration",
    ("POST", "/{lts_version}/consumer/keys/lti"): "callDataApiConsumerKeys",
}

# The areas (a generated client's modules), by the first rule that matches (method ignored).
TAGS: list[tuple[str, str, str]] = [
    (r"^/api/(org|openapi\.json)$", "Organisation", "The caller's organisation and its settings; this document."),
    (r"^/api/credentials", "Credentials", "API credentials (owners): Bearer API keys, owner or member."),
    (
        r"^/api/keys|^/\{lts_version\}/consumer/keys/lti$",
        "Consumer keys",
        "LTI 1.1 consumer keys and secrets (owners), also through the Learnosity Data API compatible endpoint.",
    ),
    (
        r"^/api/classes/\{class_id\}/units/\{unit_id\}/lti-config\.xml$|/lti-settings$",
        "Exports",
        "LTI settings exports: CSV, JSON, Common Cartridge, LTI 1.1 XML.",
    ),
    (r"^/api/classes/\{class_id\}/units", "Units", "Units of a class (LMS assignments), with launch URLs."),
    (r"^/api/classes|^/classes/", "Classes", "Classes (LMS courses), with launch URLs."),
    (
        r"^/api/platforms|^/lti/register/",
        "Platforms",
        "LTI 1.3 platform registrations (owners), LTI 1.1 to 1.3 bindings, LTI Dynamic Registration.",
    ),
    (r"^/api/tool-|jwks\.json$", "Tool configuration", "The tool's LTI 1.3 settings and signing keys."),
    (r"^/api/launch-errors", "Launch errors", "Refused launches by their page's reference (owners)."),
    (
        r"^/lti/",
        "LTI launch",
        "What an LMS calls: LTI 1.1 launches, LTI 1.3 logins and launches (HTML pages and redirects).",
    ),
    (r"^/console", "Console", "The owner console's page, assets and cookie session."),
    (r"^/api/", "App API", "The LTIAAS-compatible app API an app's back end calls with an ltik or a service key."),
]


def _tag(path: str) -> str:
    return next(name for pattern, name, _ in TAGS if re.search(pattern, path))


# -- shared components -------------------------------------------------------------------------------------

SECURITY_SCHEMES: dict[str, Any] = {
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <API_KEY>`: an API credential's key, `<credential_id>.<secret>` "
        "(`ak_0123456789abcdef.4Amyd…`), made by `POST /api/credentials` or the CLI. Owners may call every "
        "Bearer route; members get 403 on owner routes.",
    },
    "LtikAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Authorization: LTIK-AUTH-V2 <API_KEY>:<LTIK>`: the organisation's API key and the `ltik` "
        "the gateway appended to the app launch URL (`?ltik=`), valid 24 hours, for one launch. The scheme "
        "name is case-insensitive; LTIAAS's older `LTIK-AUTH-V1 Token=<LTIK>, Additional=Bearer <API_KEY>` "
        "is accepted too. The API key must belong to the launch's organisation.",
    },
    "ServiceAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Authorization: SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>`: the organisation's API key and "
        "`services.serviceKey` of `GET /api/idtoken`, one per LMS course, valid until revoked "
        "(`DELETE /api/servicekey`). For a back end's grading and rosters outside a launch.",
    },
}
# Path parameters, each a reusable component (its schema and what the value is).
PATH_PARAMETERS: dict[str, tuple[str, str]] = {
    "class_id": ("ClassId", "A class id (`cls_…`) of the caller's organisation."),
    "unit_id": ("UnitId", "A unit id (`unt_…`) of the class."),
    "credential_id": ("CredentialId", "An API credential id (`ak_…`)."),
    "key": ("ConsumerKeyName", "An LTI 1.1 consumer key."),
    "platform_id": ("PlatformId", "A platform registration id."),
    "binding_id": ("BindingId", "An LTI 1.1 to 1.3 binding id."),
    "reference": ("LaunchErrorReference", "The reference an error page showed."),
    "id": (
        "LineItemId",
        "A line item id: the opaque `li_…` (or LTI 1.1 `li11_…`) id the API answers, or the LMS's line item "
        "URL, URL-encoded (`https%3A%2F%2Flms.example.edu%2F…`; slashes may be left as they are).",
    ),
    "org_id": ("OrgId", "An organisation id (`org_…`)."),
    "token": ("RegistrationToken", "The token of a dynamic-registration URL (`POST /api/platforms/registration-url`)."),
    "name": ("ConsoleAssetName", "An asset of the console (`console.js`, `console.css`)."),
    "lts_version": ("LtsVersion", "The Learnosity API version segment (e.g. `v2023.1.LTS`); any value."),
}
PARAMETERS: dict[str, Any] = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Page size: 1 to 100 (default 50).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    "Next": {
        "name": "next",
        "in": "query",
        "required": False,
        "description": "The `next` token of the previous page (opaque; bound to the caller's organisation).",
        "schema": {"type": "string"},
    },
    **{
        component: {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, (component, description) in PATH_PARAMETERS.items()
    },
}

COMPONENT_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every error of the JSON API (and of the console's session routes).",
        "required": ["error", "details"],
        "properties": {
            "error": {"type": "string", "description": "A stable code clients may switch on."},
            "details": {"description": "A message, or an object naming each bad field. Never a secret."},
        },
    },
    "ContractError": {
        "type": "object",
        "description": "The LTIAAS contract's error shape (the app API).",
        "required": ["status", "error", "details"],
        "properties": {
            "status": {"type": "integer"},
            "error": {"type": "string", "description": "The HTTP reason phrase."},
            "details": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}, "description": {"type": "string"}},
            },
        },
    },
    "DataApiEnvelope": {
        "type": "object",
        "description": "The Learnosity Data API envelope of an error: `meta.status` false, `meta.error` the code.",
        "required": ["meta", "data"],
        "properties": {"meta": {"type": "object"}, "data": {}},
    },
}

_REASONS = {
    302: "Redirect",
    400: "Malformed request",
    401: "Authentication failed",
    403: "Not allowed for this credential or session",
    404: "Unknown, or another organisation's",
    406: "No format satisfies Accept",
    409: "Conflict",
    410: "Expired",
    413: "Body too large",
    415: "Unsupported media type",
    429: "Throttled: retry after Retry-After",
    500: "A bug: only a correlation id",
    502: "A platform, JWKS or the KMS key failed",
    503: "A dependency is throttled or did not answer: retry after Retry-After",
    504: "The platform did not answer in time",
}
_ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
# The error codes docs/api.md lists, one per status (the JSON API's examples).
_ERROR_EXAMPLES = {
    400: ("validation_failed", {"name": "must be 1 to 200 characters"}),
    401: ("invalid_api_key", "the API key is unknown or malformed"),
    403: ("owner_role_required", "only an owner may do this"),
    404: ("not_found", "no such class"),
    406: ("not_acceptable", "no format of this export satisfies Accept"),
    409: ("concurrent_change", "changed by another request since it was read; read it again"),
    410: ("registration_expired", "this registration URL has expired"),
    413: ("body_too_large", "the body is over 64 KB"),
    415: ("unsupported_media_type", "send application/json"),
    429: ("throttled", "too many requests; retry after Retry-After"),
    500: ("internal_error", {"correlation_id": "c0ffee00-1234-4abc-9def-0123456789ab"}),
    502: ("kms_unavailable", "the secrets key is disabled, deleted or not granted"),
    503: ("service_unavailable", "retry after Retry-After"),
    504: ("platform_timeout", "the platform did not answer in time"),
}
_FAMILY_PREFIX = {"json": "", "contract": "AppApi", "html": "Page", "data-api": "DataApi"}


# -- the resolvers -------------------------------------------------------------------------------------


def _load(spec: tpl.FunctionSpec) -> ModuleType:
    """The handler module (the name tests and the local gateway use, so one import serves all)."""
    if spec.module_name in sys.modules:
        return sys.modules[spec.module_name]
    module_spec = importlib.util.spec_from_file_location(spec.module_name, spec.module_file)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[spec.module_name] = module
    module_spec.loader.exec_module(module)
    return module


def _served(module: ModuleType) -> list[tuple[str, re.Pattern[str]]]:
    """``(method, path pattern)`` of every route the module's resolver serves."""
    app = module.app
    found = []
    for route in [*app._static_routes, *app._dynamic_routes]:
        found.append((route.method.upper(), route.rule))
    return found


def _summaries(module: ModuleType) -> dict[tuple[str, str], tuple[str, str | None]]:
    """The route table of the handler's docstring: ``METHOD[|METHOD] /path[?query]   what it does
    [session]``, a description may wrap onto lines indented to its column -> ``(summary, session)``
    (the token function's session column: ``ltik``, ``service`` or ``ltik|service``; else None)."""
    table: dict[tuple[str, str], tuple[str, str | None]] = {}
    route = re.compile(r"^\s+([A-Z|]+)\s+(/[^\s?]*)(?:\?\S*)?\s+(.+?)\s*$")
    lines = (module.__doc__ or "").splitlines()
    for i, line in enumerate(lines):
        match = route.match(line)
        if not match or not set(match[1].split("|")) <= set(_METHODS):
            continue
        text = match[3]
        for more in lines[i + 1 :]:
            if route.match(more) or len(more) - len(more.lstrip()) < match.start(3) or not more.strip():
                break
            text += " " + more.strip()
        session = re.search(r"\s{2,}(ltik\|service|ltik|service)$", text)
        text = text[: session.start()] if session else text  # the token function's session column
        for method in match[1].split("|"):
            table[(method, match[2])] = (re.sub(r"\s{2,}", " ", text), session[1] if session else None)
    return table


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+)\+\}", r"{\1}", path)


def _example_path(path: str) -> str:
    return re.sub(r"\{\w+\+?\}", "x", path)


# -- one operation -----------------------------------------------------------------------------------------


def _family(route: tpl.Route, path: str) -> str:
    if route.function_id == "TokenFunction":
        return "contract"
    if route.function_id == "LaunchFunction" or (route.method, path) in {
        ("GET", "/lti/register/{token}"),
        ("GET", "/classes/{class_id}/open"),
    }:
        return "html"
    if path == "/{lts_version}/consumer/keys/lti":
        return "data-api"
    return "json"


def _error_name(status: int, family: str) -> str:
    return _FAMILY_PREFIX[family] + _ERROR_NAMES[status]


def _error(status: int, family: str) -> dict[str, Any]:
    """The reusable response of ``status`` in ``family``'s envelope (components/responses)."""
    answer: dict[str, Any] = {"description": _REASONS[status]}
    if family == "html":
        answer["content"] = {"text/html": {"schema": {"type": "string"}}}
    else:
        schema = {"json": "Error", "contract": "ContractError", "data-api": "DataApiEnvelope"}[family]
        media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        code, details = _ERROR_EXAMPLES[status]
        if family == "json":
            media["example"] = {"error": code, "details": details}
        elif family == "contract":
            reason = _REASONS[status] if status != 404 else "Not Found"
            media["example"] = {"status": status, "error": reason, "details": {"message": str(details)}}
        else:
            message = details if isinstance(details, str) else code
            meta = {"status": False, "timestamp": 1788249600, "message": message, "code": code, "error": code}
            media["example"] = {"meta": meta, "data": None}
        answer["content"] = {"application/json": media}
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return answer


def _security(key: tuple[str, str], family: str, session: str | None) -> list[dict[str, list[str]]]:
    if key in PUBLIC or family in ("html", "data-api"):
        return []
    if family == "contract":
        kinds = (session or "ltik|service").split("|")
        return [{{"ltik": "LtikAuth", "service": "ServiceAuth"}[kind]: []} for kind in kinds]
    return [{"BearerAuth": []}]


def _request_body(
    key: tuple[str, str], family: str, path: str, requests: dict[tuple[str, str], Any], schemas: dict[str, Any]
) -> dict[str, Any] | None:
    """The body: a schema module's, else a launch or login form.
    Required when its schema requires a field or it is a form (an empty JSON body reads as ``{}``)."""
    method = key[0]
    if key in requests:
        required = False
        for kind, media in requests[key].items():
            schema = media.get("schema", {})
            while "$ref" in schema:
                schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            required = required or bool(schema.get("required")) or kind == "application/x-www-form-urlencoded"
        return {"required": required, "content": copy.deepcopy(requests[key])}
    if method in ("POST", "PUT", "PATCH") and family == "html":
        login = path.endswith("/login")
        example = LOGIN_FORM_EXAMPLE if login else LAUNCH_FORM_EXAMPLE
        form = {"application/x-www-form-urlencoded": {"schema": LAUNCH_FORM, "example": example}}
        return {"required": not login, "content": form}
    return None


def _operation(
    route: tpl.Route,
    path: str,
    summary: str | None,
    session: str | None,
    success_content: dict[str, Any] | None,
    requests: dict[tuple[str, str], Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    method = route.method
    key = (method, path)
    family = _family(route, path)
    params = re.findall(r"\{(\w+)\}", path)
    if key not in OPERATION_IDS:
        raise tpl.TemplateError(f"{method} {path}: no operationId (add it to OPERATION_IDS in {__name__})")
    op: dict[str, Any] = {
        "operationId": OPERATION_IDS[key],
        "tags": [_tag(path)],
        "summary": summary or f"{method} {path}",
    }
    parameters: list[dict[str, Any]] = [
        {"$ref": f"#/components/parameters/{PATH_PARAMETERS[name][0]}"} for name in params
    ]
    for name, schema in QUERY.get(key, []):
        if "$ref" in schema and schema["$ref"].startswith("#/components/parameters/"):
            parameters.append(schema)
        else:
            parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    parameters += [{"name": n, "in": "header", "required": False, "schema": s} for n, s in HEADERS.get(key, [])]
    if parameters:
        op["parameters"] = parameters

    has_body = method in ("POST", "PUT", "PATCH")
    body = _request_body(key, family, path, requests, schemas)
    if body is not None:
        op["requestBody"] = body
    op["security"] = _security(key, family, session)

    # The answers.
    success = SUCCESS.get(key, 302 if family == "html" and route.function_id == "LaunchFunction" else 200)
    page = {
        "description": "An HTML page",
        "content": {"text/html": {"schema": {"type": "string"}, "example": HTML_EXAMPLE}},
    }
    if success_content and success in (200, 201):
        ok: dict[str, Any] = {"description": "OK" if success == 200 else "Created", "content": success_content}
    elif success == 204:
        ok = {"description": "Done (no body)"}
    elif success == 302:
        ok = {"description": "Redirect (`Location`)", "headers": {"Location": {"schema": {"type": "string"}}}}
    elif family == "html":
        ok = page
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": {}}}}
    responses: dict[str, Any] = {str(success): ok}
    if family == "html" and success == 302:
        if success_content:
            page = {"description": "An HTML page", "content": success_content}
        responses["200"] = page
    codes = {500, 503}
    if family == "html":
        codes |= {400, 404}
        if route.function_id == "LaunchFunction":
            codes |= {401, 409, 413, 415, 502}
        if path == "/lti/register/{token}":
            codes |= {409, 410, 502, 504}
        if path == "/classes/{class_id}/open":
            codes.add(409)  # lti_disabled, no_class_lms_url, invalid_class_lms_url: a page saying why
    else:
        if op["security"] or family == "data-api" or key in SESSION_REFUSALS:
            codes.add(401)
        if key in (("DELETE", "/console/session"), ("POST", "/console/session")):
            codes.add(403)  # DELETE: X-CSRF-Token missing or wrong; POST: cross_origin_request
        if family == "json" and op["security"] and path.startswith(OWNER_ONLY_PREFIXES):
            codes.add(403)
        if family == "contract":
            codes |= {400, 404}
            if key not in SESSION_ONLY:
                codes |= {403, 502}
            if key in SESSION_ONLY and method == "POST":
                codes |= {403}
        if params:
            codes.add(404)
        if has_body:
            codes |= {400, 413, 415}
        if QUERY.get(key):
            codes.add(400)
        if key in CONFLICTS:
            codes.add(409)
        if key in SEALING:
            codes.add(502)
        if family == "data-api":
            codes |= {400, 415, 429}
        if path.startswith("/api/classes/{class_id}/lti-settings"):
            codes.add(406)
    for status in sorted(codes):
        responses[str(status)] = {"$ref": f"#/components/responses/{_error_name(status, family)}"}
    op["responses"] = responses
    op["x-family"] = family  # not part of OpenAPI: which error envelope (used to build components, then dropped)
    return op


# -- the schema modules ------------------------------------------------------------------------------------


def schema_modules() -> list[ModuleType]:
    """The schema modules, in the order their operations were written."""
    return [importlib.import_module(name) for name in SCHEMA_MODULES]


def _merged(modules: list[ModuleType]) -> tuple[dict[str, Any], dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
    """``(schemas, responses, requests)`` of every module; a schema name, or an operation's response or
    request body, that two modules (or a module and this generator's own components) define fails the
    build."""
    schemas: dict[str, Any] = dict(COMPONENT_SCHEMAS)
    owners: dict[Any, str] = {("schema", name): "openapi.py" for name in schemas}
    responses: dict[tuple[str, str], Any] = {}
    requests: dict[tuple[str, str], Any] = {}
    problems = []
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1] + ".py"
        for kind, table, merged in (
            ("schema", module.SCHEMAS, schemas),
            ("response", module.RESPONSES, responses),
            ("request body", getattr(module, "REQUESTS", {}), requests),
        ):
            for key, value in table.items():
                if (kind, key) in owners:
                    shown = key if isinstance(key, str) else " ".join(key)
                    problems.append(f"{kind} {shown}: defined by both {owners[(kind, key)]} and {name}")
                    continue
                owners[(kind, key)] = name
                merged[key] = value
    if problems:
        raise tpl.TemplateError("the schema modules clash:\n  " + "\n  ".join(problems))
    return schemas, responses, requests


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _reachable(roots: Any, schemas: dict[str, Any]) -> set[str]:
    """The schema names ``roots`` refer to, directly or through other schemas."""
    seen: set[str] = set()
    todo = _refs(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo |= _refs(schemas[name])
    return seen


# -- the document ------------------------------------------------------------------------------------------


def _split(route: tpl.Route) -> list[str]:
    """The OpenAPI paths of a template route: the greedy line item route is the operations clients see
    (the handler splits a trailing ``/scores`` off; ``POST`` without it, ``PUT``/``DELETE`` with it answer
    404 ``No such route.``)."""
    path = _openapi_path(route.path)
    if not route.path.endswith("+}"):
        return [path]
    return {"GET": [path, f"{path}/scores"], "PUT": [path], "DELETE": [path], "POST": [f"{path}/scores"]}.get(
        route.method, [path]
    )


def build(template_path: str | Path | None = None) -> dict[str, Any]:
    template = tpl.load_template(template_path or default_template())
    specs = tpl.functions(template)
    routes = sorted(tpl.routes(template), key=lambda r: (_openapi_path(r.path), _METHODS.index(r.method)))
    with_routes = {r.function_id for r in routes}  # a scheduled function (key rotation) serves no route
    modules = {fid: _load(spec) for fid, spec in specs.items() if fid in with_routes}
    summaries = {fid: _summaries(module) for fid, module in modules.items()}
    served = {fid: _served(module) for fid, module in modules.items()}
    schemas, module_responses, requests = _merged(schema_modules())

    problems = []
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.method not in _METHODS:
            problems.append(f"{route.route_key}: method {route.method} cannot be described")
            continue
        example = _example_path(route.path)
        if not any(m == route.method and rule.fullmatch(example) for m, rule in served[route.function_id]):
            problems.append(f"{route.route_key}: {route.function_id}'s resolver serves no such route")
        for path in _split(route):
            key = (route.method, path)
            summary, session = summaries[route.function_id].get(key, (SUMMARIES.get(key), None))
            content = module_responses.get(key)
            op = _operation(route, path, summary, session, copy.deepcopy(content), requests, schemas)
            paths.setdefault(path, {})[route.method.lower()] = op

    # Every route a resolver serves is exposed by the template (the reverse of the check above).
    for fid, rules in served.items():
        for method, rule in rules:
            if not any(
                r.function_id == fid and r.method == method and rule.fullmatch(_example_path(r.path)) for r in routes
            ):
                problems.append(f"{fid}: {method} {rule.pattern} is served but has no template route")
    # Every operation a schema module describes exists (a typo in a path would silently describe nothing).
    operations = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    for kind, table in (("response", module_responses), ("request body", requests)):
        problems += [f"{kind} of {m} {p}: no such operation" for m, p in sorted(set(table) - operations)]
    for method, path in sorted(set(requests) & operations):
        if "requestBody" not in paths[path][method.lower()] or method == "GET":
            problems.append(f"request body of {method} {path}: the operation takes none")
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    problems += [f"operationId {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise tpl.TemplateError("the routes and the handlers disagree:\n  " + "\n  ".join(problems))

    # The error responses the operations use, each once in components/responses.
    error_responses: dict[str, Any] = {}
    for ops in paths.values():
        for op in ops.values():
            family = op.pop("x-family")
            for status, answer in op["responses"].items():
                ref = answer.get("$ref", "")
                if ref.startswith("#/components/responses/"):
                    error_responses.setdefault(ref.rsplit("/", 1)[-1], _error(int(status), family))
    components: dict[str, Any] = {
        "securitySchemes": SECURITY_SCHEMES,
        "parameters": PARAMETERS,
        "responses": dict(sorted(error_responses.items())),
        "headers": {"RetryAfter": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
    }
    missing = sorted((_refs(paths) | _refs(components) | _refs(schemas)) - set(schemas))
    if missing:
        raise tpl.TemplateError("schemas referred to but defined nowhere: " + ", ".join(missing))
    unused = sorted(set(schemas) - _reachable(paths, schemas) - _reachable(components, schemas))
    if unused:
        raise tpl.TemplateError("schemas no operation uses (a route renamed, or a left-over): " + ", ".join(unused))
    components["schemas"] = dict(sorted(schemas.items()))

    tags = [{"name": name, "description": text} for _, name, text in TAGS]
    used_tags = {op["tags"][0] for ops in paths.values() for op in ops.values()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Every HTTP route of the gateway, generated from template.yaml and the handlers "
            '(`make openapi`). Errors are `{"error", "details"}` (the app API: the LTIAAS contract\'s '
            '`{"status", "error", "details"}`); launch and registration routes answer HTML pages. '
            "Authentication: `Authorization: Bearer <API_KEY>` for the JSON API, "
            "`LTIK-AUTH-V2 <API_KEY>:<LTIK>` or `SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>` for the app API.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": SERVERS,
        "tags": [t for t in tags if t["name"] in used_tags],
        "paths": paths,
        "components": components,
    }


def with_server(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``document`` naming ``base_url`` as its one server (what ``GET /api/openapi.json`` serves)."""
    return {**document, "servers": [{"url": base_url.rstrip("/"), "description": "This stack."}]}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lti_gateway.local.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped document is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
