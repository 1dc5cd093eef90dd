"""Generate the OpenAPI document of every route: ``python -m lti_gateway.local.openapi [--check]``.

Nothing here lists the routes: they come from template.yaml's ``HttpApi`` events (what API Gateway
routes), each checked against its function's resolver (what the code serves; a template route no
handler serves, or a handler route the template does not expose, fails the build). Summaries come
from each handler's route table in its module docstring; the answers from rules over the route
(who may call it, whether it takes a body or path parameters) plus the status codes docs/api.md
documents. Request bodies are described where the schema is short.

The result is written to ``lti_gateway/openapi.json`` (shipped in the layer, served by the keys
function at ``GET /api/openapi.json``); ``--check`` exits 1 when that file is not what the routes
generate (``tests/infrastructure/test_openapi.py`` runs the same comparison).
"""

from __future__ import annotations

import argparse
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
    ("POST", "/api/lineitems/{id}"): 204,
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
_PAGE = [("limit", {"type": "integer", "minimum": 1, "maximum": 100}), ("next", _STRING)]
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
    ],
}
HEADERS: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {
    ("POST", "/api/keys"): [("Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255})],
}

_URL_OR_NULL = {"type": ["string", "null"], "maxLength": 2048}
_TEXT = {"type": "string", "maxLength": 255}
_CREDENTIAL = {"type": "string", "minLength": 16, "maxLength": 255, "pattern": r"^[a-z0-9!#%&,\-_/^$*+.|]+$"}
_CLASS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "lti_enabled": {"type": "boolean"},
    "class_lms_url": _URL_OR_NULL,
    "class_lms_url_confirmed": {"type": "boolean"},
    "app_launch_url": _URL_OR_NULL,
}
_UNIT = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "position": {"type": "integer", "minimum": 0},
    "app_launch_url": _URL_OR_NULL,
}
_VERSION = {"version": {"type": "integer", "minimum": 1}}
_PLATFORM = {
    "url": {"type": "string", "format": "uri"},
    "clientId": _TEXT,
    "name": {"type": "string", "maxLength": 200},
    "authenticationEndpoint": {"type": "string", "format": "uri"},
    "accesstokenEndpoint": {"type": "string", "format": "uri"},
    "authorizationServer": {"type": ["string", "null"]},
    "authConfig": {
        "type": "object",
        "required": ["method", "key"],
        "properties": {"method": {"type": "string", "enum": ["JWK_SET", "JWK_KEY", "RSA_KEY"]}, "key": {}},
    },
    "deploymentIds": {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "allowAnonymous": {"type": "boolean"},
    "active": {"type": "boolean"},
}
_LINE_ITEM = {
    "label": {"type": "string"},
    "scoreMaximum": {"type": "number", "exclusiveMinimum": 0},
    "resourceLinkId": {"type": "string"},
    "resourceId": {"type": "string"},
    "tag": {"type": "string"},
    "startDateTime": {"type": "string"},
    "endDateTime": {"type": "string"},
}
_SCORE = {
    "userId": {"type": "string"},
    "activityProgress": {"type": "string", "enum": ["Initialized", "Started", "InProgress", "Submitted", "Completed"]},
    "gradingProgress": {"type": "string", "enum": ["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"]},
    "scoreGiven": {"type": "number", "minimum": 0},
    "scoreMaximum": {"type": "number", "exclusiveMinimum": 0},
    "comment": {"type": ["string", "null"]},
}
_DEEP_LINKING = {
    "contentItems": {"type": "array", "items": {"type": "object"}},
    "options": {"type": "object", "properties": {"message": _STRING, "log": _STRING, "errMessage": _STRING}},
}


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/keys"): _object({"label": _TEXT, "key": _CREDENTIAL, "secret": _CREDENTIAL}),
    ("POST", "/api/keys/{key}/rotate"): _object(
        {"grace_period_seconds": {"type": "integer", "minimum": 0, "maximum": 604800}}
    ),
    ("PATCH", "/api/org"): _object(
        {
            "app_launch_url": _URL_OR_NULL,
            "app_origins": {"type": ["array", "null"], "maxItems": 50, "items": {"type": "string", "maxLength": 300}},
            "tool_name": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
            "tool_description": {"type": ["string", "null"], "minLength": 1, "maxLength": 1000},
            "tool_icon_url": _URL_OR_NULL,
        }
    ),
    ("POST", "/api/credentials"): _object({"role": {"type": "string", "enum": ["owner", "member"]}, "label": _TEXT}),
    ("POST", "/api/classes"): _object(_CLASS, ("name",)),
    ("PATCH", "/api/classes/{class_id}"): _object(_CLASS | _VERSION),
    ("POST", "/api/classes/{class_id}/units"): _object(_UNIT, ("name",)),
    ("PATCH", "/api/classes/{class_id}/units/{unit_id}"): _object(_UNIT | _VERSION),
    ("POST", "/api/classes/{class_id}/units/reorder"): _object(
        {"unit_ids": {"type": "array", "items": _STRING}}, ("unit_ids",)
    ),
    ("POST", "/api/platforms"): _object(
        _PLATFORM,
        ("url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint", "authConfig"),
        closed=False,
    ),
    ("PUT", "/api/platforms/{platform_id}"): _object(_PLATFORM | _VERSION, closed=False),
    ("POST", "/api/platforms/registration-url"): _object(
        {"expires_in_seconds": {"type": "integer", "minimum": 300, "maximum": 2592000}, "reusable": {"type": "boolean"}}
    ),
    ("POST", "/api/tool-keys/rotate"): _object({}),
    ("POST", "/api/lineitems"): _object(_LINE_ITEM, ("label", "scoreMaximum"), closed=False),
    ("PUT", "/api/lineitems/{id}"): _object(_LINE_ITEM, ("label", "scoreMaximum"), closed=False),
    ("POST", "/api/lineitems/{id}"): _object(_SCORE, ("userId", "activityProgress", "gradingProgress"), closed=False),
    ("POST", "/api/deeplinking"): _object(_DEEP_LINKING, closed=False),
    ("POST", "/api/deeplinking/form"): _object(_DEEP_LINKING, closed=False),
    ("POST", "/console/session"): {
        **_object({"api_key": {"type": "string", "maxLength": 512}, "link": {"type": "string", "maxLength": 128}}),
        "description": "Exactly one of `api_key` (an API key) or `link` (a one-time sign-in link's token).",
    },
}
# What a success answers when it is not JSON (the console's page and assets).
SUCCESS_CONTENT: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/console"): {"text/html": {"schema": {"type": "string"}}},
    ("GET", "/console/assets/{name}"): {
        "text/javascript": {"schema": {"type": "string"}},
        "text/css": {"schema": {"type": "string"}},
    },
}
# Routes that answer 401 although they need no credential (the console's session routes).
SESSION_REFUSALS = {("POST", "/console/session"), ("GET", "/console/session"), ("DELETE", "/console/session")}
FORM_BODIES = {
    ("POST", "/{lts_version}/consumer/keys/lti"): _object(
        {"security": _STRING, "request": _STRING, "action": {"type": "string", "enum": ["get", "set"]}},
        ("security", "request", "action"),
    ),
}
LAUNCH_FORM = {"type": "object", "additionalProperties": {"type": "string"}}

# -- shared components -------------------------------------------------------------------------------------

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <API_KEY>` (`<credential_id>.<secret>`).",
        },
        "appSession": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`LTIK-AUTH-V2 <API_KEY>:<LTIK>` or `SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>` (LTIAAS).",
        },
    },
    "schemas": {
        "Error": {
            "type": "object",
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
        "LaunchGateway": {
            "type": "object",
            "description": "The gateway's own side of a launch, the same for LTI 1.1 and LTI 1.3: the organisation, "
            "the class and unit the launch URL named (names as they were at launch time) and the URL the LMS "
            "launched. Every key is present; null when the launch named no class (a deep-linking request) or no "
            "unit (a class launch).",
            "required": ["orgId", "classId", "className", "unitId", "unitName", "target", "launchUrl"],
            "properties": {
                "orgId": {"type": "string", "example": "org_0123456789abcdef"},
                "classId": {"type": ["string", "null"], "example": "cls_0123456789abcdef"},
                "className": {"type": ["string", "null"], "example": "Physics 101"},
                "unitId": {"type": ["string", "null"], "example": "unt_0123456789abcdef"},
                "unitName": {"type": ["string", "null"], "example": "Unit 1: Waves"},
                "target": {"type": ["string", "null"], "enum": ["class", "unit", None]},
                "launchUrl": {
                    "type": ["string", "null"],
                    "description": "LTI 1.1: the URL the LMS signed; LTI 1.3: the target link URI (else the URL "
                    "the launch was posted to).",
                },
            },
        },
        "IdToken": {
            "type": "object",
            "description": "The launch in LTIAAS's ID token shape (`?raw=true`: the raw claims or parameters), "
            "plus `gateway`.",
            "required": ["ltiVersion", "gateway"],
            "properties": {
                "ltiVersion": {"type": "string", "enum": ["1.3.0", "1.2.0"]},
                "user": {"type": "object"},
                "platform": {"type": "object"},
                "launch": {"type": "object"},
                "services": {"type": "object"},
                "gateway": {"$ref": "#/components/schemas/LaunchGateway"},
            },
        },
        "DataApiEnvelope": {
            "type": "object",
            "description": "The Learnosity Data API envelope.",
            "required": ["meta", "data"],
            "properties": {"meta": {"type": "object"}, "data": {}},
        },
    },
    "headers": {
        "RetryAfter": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    },
}

# Success answers described by a component schema (issue 17 completes the rest).
RESPONSE_SCHEMAS = {("GET", "/api/idtoken"): "IdToken"}

_REASONS = {
    302: "Redirect",
    400: "Malformed request",
    401: "Authentication failed",
    403: "Not allowed for this credential or session",
    404: "Unknown, or another organisation's",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    429: "Throttled",
    500: "A bug: only a correlation id",
    502: "A platform, JWKS or the KMS key failed",
    503: "A dependency is throttled or did not answer: retry after Retry-After",
}


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


def _summaries(module: ModuleType) -> dict[tuple[str, str], str]:
    """The route table of the handler's docstring: ``METHOD[|METHOD] /path[?query]   what it does
    [session]``, a description may wrap onto lines indented to its column."""
    table: dict[tuple[str, str], str] = {}
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
        text = re.sub(r"\s{2,}(ltik\|service|ltik|service)$", "", text)  # the token function's session column
        for method in match[1].split("|"):
            table[(method, match[2])] = re.sub(r"\s{2,}", " ", text)
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


def _error(status: int, family: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": _REASONS[status]}
    if family == "html":
        answer["content"] = {"text/html": {"schema": {"type": "string"}}}
    else:
        schema = {"json": "Error", "contract": "ContractError", "data-api": "DataApiEnvelope"}[family]
        answer["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return answer


def _operation(route: tpl.Route, summary: str | None, operation_id: str) -> dict[str, Any]:
    method, path = route.method, _openapi_path(route.path)
    key = (method, path)
    family = _family(route, path)
    params = re.findall(r"\{(\w+)\+?\}", route.path)
    op: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [route.function_id.removesuffix("Function")],
        "summary": summary or f"{method} {path}",
    }
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in params]
    parameters += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in QUERY.get(key, [])]
    parameters += [{"name": n, "in": "header", "required": False, "schema": s} for n, s in HEADERS.get(key, [])]
    if parameters:
        op["parameters"] = parameters

    has_body = method in ("POST", "PUT", "PATCH")
    if key in BODIES:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": BODIES[key]}}}
    elif key in FORM_BODIES:
        form = {"application/x-www-form-urlencoded": {"schema": FORM_BODIES[key]}}
        op["requestBody"] = {"required": True, "content": form}
    elif has_body and family == "html":
        form = {"application/x-www-form-urlencoded": {"schema": LAUNCH_FORM}}
        required = path.startswith("/lti/launch") or path.endswith("/launch")
        op["requestBody"] = {"required": required, "content": form}

    if key in PUBLIC or family in ("html", "data-api"):
        op["security"] = []
    elif family == "contract":
        op["security"] = [{"appSession": []}]
    else:
        op["security"] = [{"apiKey": []}]

    # The answers.
    success = SUCCESS.get(key, 302 if family == "html" and route.function_id == "LaunchFunction" else 200)
    if success == 204:
        ok: dict[str, Any] = {"description": "Done (no body)"}
    elif success == 302:
        ok = {"description": "Redirect (`Location`)", "headers": {"Location": {"schema": {"type": "string"}}}}
    elif family == "html":
        ok = {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    elif key in SUCCESS_CONTENT:
        ok = {"description": "OK", "content": SUCCESS_CONTENT[key]}
    else:
        schema = {"$ref": f"#/components/schemas/{RESPONSE_SCHEMAS[key]}"} if key in RESPONSE_SCHEMAS else {}
        ok = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {str(success): ok}
    if family == "html" and success == 302:
        responses["200"] = {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    codes = {500, 503}
    if family == "html":
        codes |= {400, 404}
        if route.function_id == "LaunchFunction":
            codes |= {401, 409, 413, 415, 502}
        if path == "/lti/register/{token}":
            codes |= {409, 410, 502, 504}
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
        if any(n == "next" for n, _ in QUERY.get(key, [])) or QUERY.get(key):
            codes.add(400)
        if key in CONFLICTS:
            codes.add(409)
        if key in SEALING:
            codes.add(502)
        if family == "data-api":
            codes |= {400, 415, 429}
        if path.startswith("/api/classes/{class_id}/lti-settings"):
            codes.add(406)
    if 406 in codes:
        _REASONS.setdefault(406, "No format satisfies Accept")
    if 410 in codes:
        _REASONS.setdefault(410, "Expired")
    if 504 in codes:
        _REASONS.setdefault(504, "The platform did not answer in time")
    for status in sorted(codes):
        responses[str(status)] = _error(status, family)
    op["responses"] = responses
    return op


# -- the document ------------------------------------------------------------------------------------------


def build(template_path: str | Path | None = None) -> dict[str, Any]:
    template = tpl.load_template(template_path or default_template())
    specs = tpl.functions(template)
    routes = sorted(tpl.routes(template), key=lambda r: (_openapi_path(r.path), _METHODS.index(r.method)))
    with_routes = {r.function_id for r in routes}  # a scheduled function (key rotation) serves no route
    modules = {fid: _load(spec) for fid, spec in specs.items() if fid in with_routes}
    summaries = {fid: _summaries(module) for fid, module in modules.items()}
    served = {fid: _served(module) for fid, module in modules.items()}

    problems = []
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for route in routes:
        if route.method not in _METHODS:
            problems.append(f"{route.route_key}: method {route.method} cannot be described")
            continue
        example = _example_path(route.path)
        if not any(m == route.method and rule.fullmatch(example) for m, rule in served[route.function_id]):
            problems.append(f"{route.route_key}: {route.function_id}'s resolver serves no such route")
        path = _openapi_path(route.path)
        base = re.sub(r"\W+", "_", f"{route.method.lower()}{path}").strip("_")
        operation_id = base
        while operation_id in used_ids:
            operation_id += "_"
        used_ids.add(operation_id)
        known = summaries[route.function_id]
        summary = known.get((route.method, path)) or known.get((route.method, route.path))
        if route.path.endswith("+}"):  # one greedy route: a trailing /scores is split off by the handler
            scores = known.get((route.method, f"{path}/scores"))
            summary = "; ".join(s for s in (summary, scores and f"with `/scores` at the end: {scores}") if s)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, summary, operation_id)

    # Every route a resolver serves is exposed by the template (the reverse of the check above).
    for fid, rules in served.items():
        for method, rule in rules:
            if not any(
                r.function_id == fid and r.method == method and rule.fullmatch(_example_path(r.path)) for r in routes
            ):
                problems.append(f"{fid}: {method} {rule.pattern} is served but has no template route")
    if problems:
        raise tpl.TemplateError("the routes and the handlers disagree:\n  " + "\n  ".join(problems))

    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Every HTTP route of the gateway, generated from template.yaml and the handlers "
            '(`make openapi`). Errors are `{"error", "details"}` (the app API: the LTIAAS contract\'s '
            '`{"status", "error", "details"}`); launch and registration routes answer HTML pages.',
        },
        "paths": paths,
        "components": COMPONENTS,
    }


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
