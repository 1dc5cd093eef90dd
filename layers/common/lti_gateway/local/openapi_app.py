"""The app API's schemas for the OpenAPI document (``SCHEMA_CONTRACT17``): the token function's routes
(``functions/token/app.py``: the LTIAAS-compatible API an app's back end calls with an ltik or a service
key) and the LTI protocol routes of the launch function (HTML pages or a 302).

Plain data, merged by the generator (``local/openapi.py``):

- ``SCHEMAS``: components/schemas entries (names beginning ``IdToken``, ``Member``, ``LineItem``,
  ``Score``, ``Result``, ``DeepLinking``, ``ServiceKey``, ``ConsoleLink``, ``Launch``).
- ``RESPONSES``: ``(METHOD, path)`` → the media type map of the success answer. The routes answering
  204 (``DELETE /api/lineitems/{id}``, ``POST /api/lineitems/{id}/scores``, ``DELETE /api/servicekey``)
  have no body and no entry.
- ``REQUESTS``: ``(METHOD, path)`` → the media type map of the request body.

What the answers are is read from the code (``app_api/idtoken.py``, ``services.py``,
``deep_linking.py``, ``console_links.py``; ``launch/pages.py``, ``lti13/platform_storage.py``) and the
contract the official ``ltiaas`` client validates (its pydantic models). Answers are objects left open
(no ``additionalProperties: false``): LMS fields pass through and a field added later is not a
breaking change. ``tests/e2e/test_openapi_app_schemas.py`` checks every schema against real answers of
the local gateway.
"""

from __future__ import annotations

from typing import Any

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


_STRING: dict[str, Any] = {"type": "string"}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_BOOL: dict[str, Any] = {"type": "boolean"}
_LTI = "https://purl.imsglobal.org/spec/lti/claim/"
_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
_AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
_LINE_ITEM_ID = r"^li(11)?_[A-Za-z0-9_-]+$"
_PAGE_LINK = {
    "type": "string",
    "description": "The LMS's `Link` header URL for this relation: pass it back as `url` for that page.",
}
# Paging of the LMS answers (its Link header, relations next, prev, first, last), when the LMS sent one.
_PAGING = {"next": _PAGE_LINK, "prev": _PAGE_LINK, "first": _PAGE_LINK, "last": _PAGE_LINK}
_SCORE_EXAMPLE = {
    "userId": "user-2",
    "activityProgress": "Completed",
    "gradingProgress": "FullyGraded",
    "scoreGiven": 18,
    "scoreMaximum": 20,
    "comment": "Clear argument.",
}

# -- realistic values used by the examples -------------------------------------------------------------

_ORG = "org_3f9a1c2b7d4e5f60"
_CLASS = "cls_8b2d4f6a1c3e5d7f"
_UNIT = "unt_1a2b3c4d5e6f7a8b"
_BASE = "https://lti.example.edu"
_LMS = "https://canvas.example.edu"
_LINE_ITEM_URL = f"{_LMS}/api/lti/courses/1234/line_items/7"
_LINE_ITEM = "li_aHR0cHM6Ly9jYW52YXMuZXhhbXBsZS5lZHUvYXBpL2x0aS9jb3Vyc2VzLzEyMzQvbGluZV9pdGVtcy83"
_LTI11_ITEM = "li11_Qm9vdHN0cmFwcGluZ0lkMQ"
_SERVICE_KEY = "sk_yJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZC"
_JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjJmNGE2YjhjIiwidHlwIjoiSldUIn0"
    ".eyJpc3MiOiJjbGllbnQtMTIzIiwiYXVkIjoiaHR0cHM6Ly9jYW52YXMuZXhhbXBsZS5lZHUifQ"
    ".c2lnbmF0dXJl"
)
_GATEWAY_UNIT = {
    "orgId": _ORG,
    "classId": _CLASS,
    "className": "Physics 101",
    "unitId": _UNIT,
    "unitName": "Unit 1: Waves",
    "target": "unit",
    "launchUrl": f"{_BASE}/lti/launch/{_CLASS}/{_UNIT}",
}
_GATEWAY_CLASS = {
    "orgId": _ORG,
    "classId": _CLASS,
    "className": "Physics 101",
    "unitId": None,
    "unitName": None,
    "target": "class",
    "launchUrl": f"{_BASE}/lti/launch/{_CLASS}",
}

ID_TOKEN_13 = {
    "ltiVersion": "1.3.0",
    "user": {
        "id": "teacher-1",
        "roles": [f"{_LIS}membership#Instructor"],
        "name": "Grace Hopper",
        "email": "grace@example.edu",
        "givenName": "Grace",
        "familyName": "Hopper",
    },
    "platform": {
        "id": "plt_5c6d7e8f9a0b1c2d",
        "url": _LMS,
        "clientId": "10000000000042",
        "deploymentId": "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
        "name": "Example University Canvas",
        "guid": "07adb3e60637ff02d9ea11c7c74f1ca921699bd7.canvas.example.edu",
        "version": "cloud",
        "productFamilyCode": "canvas",
    },
    "launch": {
        "type": "LtiResourceLinkRequest",
        "target": f"{_BASE}/lti/launch/{_CLASS}/{_UNIT}",
        "context": {"id": "4dde05e8ca1973bc", "label": "PHYS 101", "title": "Physics", "type": ["CourseSection"]},
        "resourceLink": {"id": "a6b1f7c8d3e2b1a0", "title": "Unit 1: Waves"},
        "presentation": {"documentTarget": "iframe", "returnUrl": f"{_LMS}/courses/1234", "locale": "en"},
        "custom": {"canvas_course_id": "1234", "attempts": 3},
    },
    "services": {
        "outcomes": {"available": False},
        "deepLinking": {"available": False},
        "assignmentAndGrades": {
            "available": True,
            "scopes": [_AGS_SCOPE + "lineitem", _AGS_SCOPE + "result.readonly", _AGS_SCOPE + "score"],
            "lineItemId": _LINE_ITEM,
        },
        "namesAndRoles": {"available": True},
        "serviceKey": _SERVICE_KEY,
    },
    "gateway": _GATEWAY_UNIT,
}
ID_TOKEN_11 = {
    "ltiVersion": "1.2.0",
    "user": {
        "id": "535fa085f22b4655f48cd5a36a9215f64c062838",
        "roles": [f"{_LIS}membership#Learner"],
        "name": "Ada Lovelace",
        "email": "ada@example.edu",
        "givenName": "Ada",
        "familyName": "Lovelace",
    },
    "platform": {
        "consumerKey": "canvas-physics",
        "guid": "07adb3e60637ff02d9ea11c7c74f1ca921699bd7.canvas.example.edu",
        "name": "Example University",
        "productFamilyCode": "canvas",
        "version": "cloud",
    },
    "launch": {
        "type": "basic-lti-launch-request",
        "context": {"id": "4dde05e8ca1973bc", "label": "PHYS 101", "title": "Physics"},
        "resourceLink": {"id": "a6b1f7c8d3e2b1a0", "title": "Unit 3: Waves"},
        "presentation": {"documentTarget": "iframe", "returnUrl": f"{_LMS}/courses/1234", "width": "800"},
        "custom": {"canvas_course_id": "1234"},
    },
    "services": {
        "outcomes": {"available": True},
        "deepLinking": {"available": False},
        "assignmentAndGrades": {"available": False},
        "namesAndRoles": {"available": False},
        "serviceKey": _SERVICE_KEY,
    },
    "gateway": _GATEWAY_CLASS,
}
RAW_ID_TOKEN_13 = {
    "iss": _LMS,
    "aud": "10000000000042",
    "azp": "10000000000042",
    "sub": "teacher-1",
    "exp": 1767225900,
    "iat": 1767225600,
    "nonce": "b2f1c6a4e9d84e31",
    "name": "Grace Hopper",
    _LTI + "message_type": "LtiResourceLinkRequest",
    _LTI + "version": "1.3.0",
    _LTI + "deployment_id": "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
    _LTI + "target_link_uri": f"{_BASE}/lti/launch/{_CLASS}/{_UNIT}",
    _LTI + "roles": [f"{_LIS}membership#Instructor"],
    _LTI + "resource_link": {"id": "a6b1f7c8d3e2b1a0", "title": "Unit 1: Waves"},
    _LTI + "custom": {"canvas_course_id": "1234"},
    "ltiVersion": "1.3.0",
    "gateway": _GATEWAY_UNIT,
}
RAW_ID_TOKEN_11 = {
    "context_id": "4dde05e8ca1973bc",
    "lis_outcome_service_url": f"{_LMS}/api/lti/v1/tools/42/grade_passback",
    "lis_result_sourcedid": "42-1234-99-5678-54b0c1b2c3d4e5f6",
    "lti_message_type": "basic-lti-launch-request",
    "lti_version": "LTI-1p0",
    "oauth_consumer_key": "canvas-physics",
    "oauth_nonce": "8c5d1a4b3e2f",
    "oauth_signature_method": "HMAC-SHA1",
    "oauth_timestamp": "1767225600",
    "oauth_version": "1.0",
    "resource_link_id": "a6b1f7c8d3e2b1a0",
    "roles": "Learner",
    "user_id": "535fa085f22b4655f48cd5a36a9215f64c062838",
    "ltiVersion": "1.2.0",
    "gateway": _GATEWAY_CLASS,
}

# -- /api/idtoken ----------------------------------------------------------------------------------------

_ID_TOKEN_SCHEMAS: dict[str, dict[str, Any]] = {
    "LaunchGateway": {
        "type": "object",
        "description": "The gateway's own side of a launch, the same for LTI 1.1 and LTI 1.3 and in every "
        "shape of `/api/idtoken`: the organisation, the class and unit the launch URL named (their names as "
        "they were at launch time) and the URL the LMS launched. Every key is present; the class and unit "
        "keys are null when the launch named no class (an LTI 1.3 deep-linking request: `target` null) or no "
        'unit (a class launch: `target` "class").',
        "required": ["orgId", "classId", "className", "unitId", "unitName", "target", "launchUrl"],
        "properties": {
            "orgId": {"type": "string", "description": "The organisation the launch came into."},
            "classId": {"type": ["string", "null"]},
            "className": {"type": ["string", "null"]},
            "unitId": {"type": ["string", "null"]},
            "unitName": {"type": ["string", "null"]},
            "target": {
                "type": ["string", "null"],
                "enum": ["class", "unit", None],
                "description": "What the launch URL named: a unit, a class, or nothing (null).",
            },
            "launchUrl": {
                "type": ["string", "null"],
                "description": "LTI 1.1: the URL the LMS signed; LTI 1.3: the target link URI (else the URL "
                "the launch was posted to).",
            },
        },
        "examples": [_GATEWAY_UNIT, _GATEWAY_CLASS],
    },
    "IdTokenUser": {
        "type": "object",
        "description": "Who launched (`sub` / `user_id`; an anonymous LTI 1.3 launch: an empty `id`).",
        "required": ["id", "roles"],
        "properties": {
            "id": {"type": "string"},
            "roles": {**_STRINGS, "description": "LIS v2 role URIs (LTI 1.1 roles normalised to them)."},
            "name": _STRING,
            "email": _STRING,
            "givenName": _STRING,
            "familyName": _STRING,
            "roleScopeMentor": _STRINGS,
        },
    },
    "IdTokenPlatform": {
        "type": "object",
        "description": "The LMS. LTI 1.3: `id` (the registration), `url` (the issuer), `clientId`, "
        "`deploymentId` and the `tool_platform` claim; LTI 1.1: `consumerKey` and the "
        "`tool_consumer_*` parameters, `lis`. Every key is optional.",
        "properties": {
            "id": _STRING,
            "url": _STRING,
            "clientId": _STRING,
            "deploymentId": _STRING,
            "name": _STRING,
            "description": _STRING,
            "guid": _STRING,
            "version": _STRING,
            "productFamilyCode": _STRING,
            "contactEmail": _STRING,
            "consumerKey": _STRING,
            "lis": {"type": "object", "additionalProperties": _STRING},
        },
    },
    "IdTokenLaunch": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {
                "type": "string",
                "enum": [
                    "LtiResourceLinkRequest",
                    "LtiDeepLinkingRequest",
                    "LtiSubmissionReviewRequest",
                    "basic-lti-launch-request",
                ],
                "description": "The LTI 1.3 message type, or `basic-lti-launch-request` for LTI 1.1.",
            },
            "target": {"type": "string", "description": "LTI 1.3: the `target_link_uri` claim."},
            "context": {
                "type": "object",
                "description": "The LMS course (`id`, `label`, `title`, `type`).",
                "properties": {"id": _STRING, "label": _STRING, "title": _STRING, "type": _STRINGS},
            },
            "resourceLink": {
                "type": "object",
                "description": "The link in the course (`id`, `title`, `description`).",
                "properties": {"id": _STRING, "title": _STRING, "description": _STRING},
            },
            "presentation": {
                "type": "object",
                "description": "`documentTarget`, `returnUrl`, `locale`, `width`, `height` (LTI 1.1: text).",
            },
            "custom": {
                "type": "object",
                "description": "Custom parameters: text or integers (booleans as 0/1, other values as JSON "
                "text, nulls dropped).",
                "additionalProperties": {"type": ["string", "integer"]},
            },
        },
    },
    "IdTokenService": {
        "type": "object",
        "required": ["available"],
        "properties": {"available": _BOOL},
    },
    "IdTokenServices": {
        "type": "object",
        "required": ["outcomes", "deepLinking", "assignmentAndGrades", "namesAndRoles"],
        "properties": {
            "outcomes": {
                "$ref": _REF + "IdTokenService",
                "description": "LTI 1.1 Basic Outcomes (an outcome service URL and sourcedid came).",
            },
            "deepLinking": {
                "type": "object",
                "description": "An LTI 1.3 deep-linking request, with its settings (`acceptTypes`, "
                "`acceptMultiple`, ...).",
                "required": ["available"],
                "properties": {
                    "available": _BOOL,
                    "acceptTypes": _STRINGS,
                    "acceptPresentationDocumentTargets": _STRINGS,
                    "acceptMediaTypes": _STRING,
                    "acceptMultiple": _BOOL,
                    "acceptLineItem": _BOOL,
                    "autoCreate": _BOOL,
                    "title": _STRING,
                    "text": _STRING,
                },
            },
            "assignmentAndGrades": {
                "type": "object",
                "description": "LTI 1.3 AGS: the scopes the platform granted, and the launch's own line item.",
                "required": ["available"],
                "properties": {
                    "available": _BOOL,
                    "scopes": _STRINGS,
                    "lineItemId": {"type": "string", "pattern": _LINE_ITEM_ID},
                },
            },
            "namesAndRoles": {"$ref": _REF + "IdTokenService", "description": "LTI 1.3 NRPS."},
            "serviceKey": _ref("ServiceKey"),
        },
    },
    "IdToken": {
        "type": "object",
        "description": 'The launch in LTIAAS\'s ID token shape (LTI 1.3: `ltiVersion` "1.3.0"; LTI '
        '1.0/1.1/1.2: "1.2.0", `launch.type` `basic-lti-launch-request`), plus `gateway`.',
        "required": ["ltiVersion", "user", "platform", "launch", "services", "gateway"],
        "properties": {
            "ltiVersion": {"type": "string", "enum": ["1.3.0", "1.2.0"]},
            "user": _ref("IdTokenUser"),
            "platform": _ref("IdTokenPlatform"),
            "launch": _ref("IdTokenLaunch"),
            "services": _ref("IdTokenServices"),
            "gateway": _ref("LaunchGateway"),
        },
        "examples": [ID_TOKEN_13, ID_TOKEN_11],
    },
    "IdTokenRaw13": {
        "type": "object",
        "description": "`?raw=true` of an LTI 1.3 launch: the verified id_token claims (full claim URIs), "
        "`aud` as the client id, `custom` and `lis` values as text or integers, plus `ltiVersion` and "
        "`gateway`. `sub` is absent from an anonymous launch.",
        "required": [
            "iss",
            "aud",
            "exp",
            "iat",
            "nonce",
            "ltiVersion",
            _LTI + "message_type",
            _LTI + "version",
            _LTI + "deployment_id",
            _LTI + "roles",
            "gateway",
        ],
        "properties": {
            "iss": _STRING,
            "aud": {"type": "string", "description": "The client id (an array audience is answered as it)."},
            "sub": _STRING,
            "exp": {"type": "number"},
            "iat": {"type": "number"},
            "nonce": _STRING,
            "ltiVersion": {"type": "string", "enum": ["1.3.0"]},
            _LTI + "message_type": {
                "type": "string",
                "enum": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest", "LtiSubmissionReviewRequest"],
            },
            _LTI + "version": {"type": "string", "enum": ["1.3.0"]},
            _LTI + "deployment_id": _STRING,
            _LTI + "target_link_uri": _STRING,
            _LTI + "roles": _STRINGS,
            _LTI + "custom": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            _LTI + "lis": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            "gateway": _ref("LaunchGateway"),
        },
        "examples": [RAW_ID_TOKEN_13],
    },
    "IdTokenRaw11": {
        "type": "object",
        "description": "`?raw=true` of an LTI 1.0/1.1/1.2 launch: the signed POST parameters (the first "
        'value of each, without `oauth_signature`), every value text, plus `ltiVersion` "1.2.0" and '
        "`gateway`.",
        "required": [
            "lti_message_type",
            "lti_version",
            "resource_link_id",
            "oauth_consumer_key",
            "ltiVersion",
            "gateway",
        ],
        "properties": {
            "lti_message_type": {"type": "string", "enum": ["basic-lti-launch-request"]},
            "lti_version": _STRING,
            "resource_link_id": _STRING,
            "oauth_consumer_key": _STRING,
            "ltiVersion": {"type": "string", "enum": ["1.2.0"]},
            "gateway": _ref("LaunchGateway"),
        },
        "additionalProperties": {"type": "string"},
        "examples": [RAW_ID_TOKEN_11],
    },
    "IdTokenAnswer": {
        "description": "`GET /api/idtoken`: the normalised launch (`IdToken`), or with `?raw=true` the raw "
        "claims (`IdTokenRaw13`) or parameters (`IdTokenRaw11`). `ltiVersion` says which protocol.",
        "anyOf": [_ref("IdToken"), _ref("IdTokenRaw13"), _ref("IdTokenRaw11")],
    },
    "ServiceKey": {
        "type": "string",
        "pattern": r"^sk_[A-Za-z0-9_-]+$",
        "description": "The LMS course's service key (`SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>`): one per "
        "course, valid until `DELETE /api/servicekey`; absent when the launch has no service or was made "
        "before the course's key was revoked.",
        "examples": [_SERVICE_KEY],
    },
}

# -- Names and Roles -------------------------------------------------------------------------------------

MEMBERSHIPS_EXAMPLE = {
    "id": f"{_LMS}/api/lti/courses/1234/names_and_roles",
    "context": {"id": "4dde05e8ca1973bc", "label": "PHYS 101", "title": "Physics"},
    "members": [
        {
            "userId": "teacher-1",
            "roles": [f"{_LIS}membership#Instructor"],
            "status": "Active",
            "name": "Grace Hopper",
            "givenName": "Grace",
            "familyName": "Hopper",
            "email": "grace@example.edu",
        },
        {
            "userId": "user-1",
            "roles": [f"{_LIS}membership#Learner"],
            "status": "Active",
            "name": "Ada Lovelace",
            "lisPersonSourcedId": "sis-1",
        },
    ],
    "next": f"{_LMS}/api/lti/courses/1234/names_and_roles?page=2&limit=2",
}

_MEMBER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Member": {
        "type": "object",
        "description": "One member of the course (NRPS, camelCased); other NRPS fields pass through.",
        "required": ["userId", "roles", "status"],
        "properties": {
            "userId": _STRING,
            "roles": _STRINGS,
            "status": {"type": "string", "description": "`Active` unless the LMS says otherwise."},
            "name": _STRING,
            "givenName": _STRING,
            "familyName": _STRING,
            "middleName": _STRING,
            "email": _STRING,
            "picture": _STRING,
            "lisPersonSourcedId": _STRING,
            "lti11LegacyUserId": _STRING,
        },
    },
    "MembershipContainer": {
        "type": "object",
        "description": "One page of the course's members (`next`: the URL of the following page, from "
        "the LMS's Link header; pass it as `url`).",
        "required": ["id", "context", "members"],
        "properties": {
            "id": _STRING,
            "context": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": _STRING, "label": _STRING, "title": _STRING},
            },
            "members": {"type": "array", "items": _ref("Member")},
            **_PAGING,
        },
        "examples": [MEMBERSHIPS_EXAMPLE],
    },
}

# -- line items, results and scores ---------------------------------------------------------------------

LINE_ITEM_EXAMPLE = {
    "id": _LINE_ITEM,
    "label": "Essay",
    "scoreMaximum": 20,
    "resourceLinkId": "a6b1f7c8d3e2b1a0",
    "tag": "essay",
}
LTI11_LINE_ITEM_EXAMPLE = {
    "id": _LTI11_ITEM,
    "label": "Unit 3: Waves",
    "scoreMaximum": 1,
    "resourceLinkId": "a6b1f7c8d3e2b1a0",
}
RESULTS_EXAMPLE = {
    "scores": [
        {
            "id": f"{_LINE_ITEM_URL}/results/user-2",
            "userId": "user-2",
            "scoreOf": _LINE_ITEM,
            "resultScore": 18,
            "resultMaximum": 20,
            "comment": "Clear argument.",
        }
    ]
}
LTI11_RESULTS_EXAMPLE = {
    "scores": [
        {
            "id": f"{_LTI11_ITEM}/results/535fa085f22b4655f48cd5a36a9215f64c062838",
            "userId": "535fa085f22b4655f48cd5a36a9215f64c062838",
            "scoreOf": _LTI11_ITEM,
            "resultMaximum": 1,
            "resultScore": 0.8,
        }
    ]
}
_TEXT = {"type": "string", "maxLength": 4096}
_NON_BLANK = {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": r"\S"}

_LINE_ITEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "LineItem": {
        "type": "object",
        "description": "A line item (a grade column). LTI 1.3: the LMS's AGS line item with an opaque `id` "
        "(`li_` + base64url of its LMS URL; the raw LMS URL is accepted too); LTI 1.1: one per resource "
        "link (`li11_…`, `scoreMaximum` 1, `label` the resource link title). Other AGS fields pass through.",
        "required": ["id", "label", "scoreMaximum"],
        "properties": {
            "id": {"type": "string", "pattern": _LINE_ITEM_ID},
            "label": _STRING,
            "scoreMaximum": {"type": "number"},
            "resourceLinkId": _STRING,
            "resourceId": _STRING,
            "tag": _STRING,
            "startDateTime": _STRING,
            "endDateTime": _STRING,
            "gradesReleased": _BOOL,
        },
        "examples": [LINE_ITEM_EXAMPLE, LTI11_LINE_ITEM_EXAMPLE],
    },
    "LineItemContainer": {
        "type": "object",
        "description": "The line items of the launch's course (LTI 1.1: its resource links), one page; "
        "`next`/`prev`/`first`/`last` from the LMS's Link header when it sent one (LTI 1.3).",
        "required": ["lineItems"],
        "properties": {"lineItems": {"type": "array", "items": _ref("LineItem")}, **_PAGING},
        "examples": [{"lineItems": [LINE_ITEM_EXAMPLE]}, {"lineItems": [LTI11_LINE_ITEM_EXAMPLE]}],
    },
    "LineItemInput": {
        "type": "object",
        "description": "A line item to create or (PUT) replace whole. Nulls are dropped; other keys pass "
        "through to the LMS; `id` is ignored.",
        "required": ["label", "scoreMaximum"],
        "properties": {
            "label": {**_NON_BLANK, "description": "Not blank."},
            "scoreMaximum": {"type": "number", "exclusiveMinimum": 0},
            "resourceLinkId": _TEXT,
            "resourceId": _TEXT,
            "tag": _TEXT,
            "startDateTime": _TEXT,
            "endDateTime": _TEXT,
            "gradesReleased": _BOOL,
        },
        "examples": [{"label": "Essay", "scoreMaximum": 20, "resourceLinkId": "a6b1f7c8d3e2b1a0", "tag": "essay"}],
    },
}
_SCORE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Score": {
        "type": "object",
        "description": "A score for one learner (AGS; `timestamp` is set by the gateway). LTI 1.1: sent "
        "as a Basic Outcomes `replaceResult` of `scoreGiven / scoreMaximum` (`scoreMaximum` default 1, "
        "`scoreGiven` required), `comment` as its text; an ltik grades its own user only.",
        "required": ["userId", "activityProgress", "gradingProgress"],
        "properties": {
            "userId": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
            "activityProgress": {
                "type": "string",
                "enum": ["Initialized", "Started", "InProgress", "Submitted", "Completed"],
            },
            "gradingProgress": {
                "type": "string",
                "enum": ["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"],
            },
            "scoreGiven": {"type": "number", "minimum": 0},
            "scoreMaximum": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Without it, `scoreGiven` is out of the line item's own `scoreMaximum`.",
            },
            "comment": {"type": ["string", "null"], "maxLength": 4096},
        },
        "examples": [_SCORE_EXAMPLE],
    },
}
_RESULT_SCHEMAS: dict[str, dict[str, Any]] = {
    "Result": {
        "type": "object",
        "description": "A learner's result on a line item (AGS; LTI 1.1: a `readResult`, `resultMaximum` "
        "1 and `resultScore` absent when the LMS holds no grade). Other AGS fields pass through.",
        "required": ["id", "userId", "scoreOf"],
        "properties": {
            "id": _STRING,
            "userId": _STRING,
            "scoreOf": {"type": "string", "pattern": _LINE_ITEM_ID, "description": "The line item's id."},
            "resultScore": {"type": "number"},
            "resultMaximum": {"type": "number"},
            "comment": _STRING,
            "timestamp": _STRING,
        },
    },
    "ResultContainer": {
        "type": "object",
        "description": "The results of a line item, one page (`next`/`prev`/`first`/`last` from the LMS's "
        "Link header, LTI 1.3).",
        "required": ["scores"],
        "properties": {"scores": {"type": "array", "items": _ref("Result")}, **_PAGING},
        "examples": [RESULTS_EXAMPLE, LTI11_RESULTS_EXAMPLE, {"scores": []}],
    },
}

# -- deep linking, console link --------------------------------------------------------------------------

DEEP_LINKING_REQUEST_EXAMPLE = {
    "contentItems": [
        {"type": "ltiResourceLink", "title": "Unit 1: Waves", "custom": {"unit": "1"}},
        {"type": "html", "html": "<p>Read chapter 1 first.</p>"},
    ],
    "options": {"message": "Added Unit 1"},
}
_FORM_EXAMPLE = (
    f'<form id="ltiaas_dl" style="display: none;" action="{_LMS}/courses/1234/deep_linking_response" '
    f'method="POST"><input type="hidden" name="JWT" value="{_JWT}" /></form>'
    '<script>document.getElementById("ltiaas_dl").submit()</script>'
)
_DEEP_LINKING_SCHEMAS: dict[str, dict[str, Any]] = {
    "DeepLinkingContentItem": {
        "type": "object",
        "description": "An LTI Deep Linking content item (`url`, `title`, `custom`, `lineItem`, ...). Nulls "
        "are dropped, the Python client's leftover snake_case keys camelCased; items of a type the "
        "platform does not accept are left out, and only the first is kept when it accepts one.",
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": ["ltiResourceLink", "link", "file", "image", "html"]}},
    },
    "DeepLinkingOptions": {
        "type": "object",
        "description": "The messages shown by the platform (`msg`, `log`, `errormsg`, `errorlog`): success "
        "or error ones, not both.",
        "properties": {"message": _TEXT, "log": _TEXT, "errMessage": _TEXT, "errLog": _TEXT},
    },
    "DeepLinkingRequest": {
        "type": "object",
        "description": "What the user chose in a deep-linking launch. The target is always the launch's own "
        "`deep_link_return_url`: nothing here can change it.",
        "properties": {
            "contentItems": {"type": "array", "maxItems": 100, "items": _ref("DeepLinkingContentItem")},
            "options": _ref("DeepLinkingOptions"),
        },
        "examples": [DEEP_LINKING_REQUEST_EXAMPLE],
    },
    "DeepLinkingMessage": {
        "type": "object",
        "description": "The signed `LtiDeepLinkingResponse` (RS256, the organisation's tool key) and where "
        "to post it (form field `JWT`).",
        "required": ["message", "target"],
        "properties": {
            "message": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"},
            "target": {"type": "string", "format": "uri", "pattern": "^https?://"},
        },
        "examples": [{"message": _JWT, "target": f"{_LMS}/courses/1234/deep_linking_response"}],
    },
    "DeepLinkingForm": {
        "type": "object",
        "description": "An auto-submitting HTML form posting the signed response (`JWT`) to the launch's "
        "`deep_link_return_url`, every attribute value HTML-escaped: put it in the page the user sees.",
        "required": ["form"],
        "properties": {"form": {"type": "string", "pattern": '^<form id="ltiaas_dl" '}},
        "examples": [{"form": _FORM_EXAMPLE}],
    },
}
CONSOLE_LINK_EXAMPLE = {
    "url": f"{_BASE}/console#link=q3Jd9vXb2LkE7wPz0sYt4uNm1aRc6hGf8iOe5yTj",
    "expires_at": "2026-01-01T00:05:00Z",
    "class_id": _CLASS,
}
_CONSOLE_LINK_SCHEMAS: dict[str, dict[str, Any]] = {
    "ConsoleLink": {
        "type": "object",
        "description": "A one-time owner console link (5 minutes, one use) opening an instructor's session "
        "scoped to the launch's class.",
        "required": ["url", "expires_at", "class_id"],
        "properties": {
            "url": {"type": "string", "format": "uri", "pattern": "/console#link=[A-Za-z0-9_-]+$"},
            "expires_at": {"type": "string", "format": "date-time"},
            "class_id": _STRING,
        },
        "examples": [CONSOLE_LINK_EXAMPLE],
    },
}

# -- the launch function's pages -------------------------------------------------------------------------

_PAGE_HEAD = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
LAUNCH_URL_PAGE = f"{_PAGE_HEAD}<title>LTI launch URL</title>...<h1>This is an LTI launch URL</h1>...</html>\n"
LOGIN_STORAGE_PAGE = (
    f"{_PAGE_HEAD}<title>Continuing to your LMS</title>...<p>Continuing to your LMS&hellip;</p>...</html>\n"
)
LAUNCH_CHECK_PAGE = (
    f"{_PAGE_HEAD}<title>Checking your launch</title>...<p>Checking your launch with your LMS&hellip;</p>"
    '...<form id="launch" method="post">...</form>...</html>\n'
)
_LAUNCH_SCHEMAS: dict[str, dict[str, Any]] = {
    "LaunchPage": {
        "type": "string",
        "contentMediaType": "text/html",
        "pattern": "^<!doctype html>",
        "description": "An HTML page for a person in the LMS's frame or a browser (never JSON).",
        "examples": [LAUNCH_URL_PAGE],
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    **_ID_TOKEN_SCHEMAS,
    **_MEMBER_SCHEMAS,
    **_LINE_ITEM_SCHEMAS,
    **_SCORE_SCHEMAS,
    **_RESULT_SCHEMAS,
    **_DEEP_LINKING_SCHEMAS,
    **_CONSOLE_LINK_SCHEMAS,
    **_LAUNCH_SCHEMAS,
}


def _json(name: str, example: Any) -> dict[str, dict[str, Any]]:
    return {"application/json": {"schema": _ref(name), "example": example}}


def _html(example: str) -> dict[str, dict[str, Any]]:
    return {"text/html": {"schema": _ref("LaunchPage"), "example": example}}


# The launch function: a launch URL opened in a browser (GET) is a page; a launch (POST) is a 302 to the
# app, or the page that reads the login's state back from the platform's storage (no cookie came back);
# a login is a 302 to the platform, or the page that stores state and nonce in its storage first.
_LAUNCH_PAGES = {
    ("GET", "/lti/launch"): LAUNCH_URL_PAGE,
    ("GET", "/lti/launch/{class_id}"): LAUNCH_URL_PAGE,
    ("GET", "/lti/launch/{class_id}/{unit_id}"): LAUNCH_URL_PAGE,
    ("GET", "/lti/orgs/{org_id}/launch"): LAUNCH_URL_PAGE,
    ("POST", "/lti/launch"): LAUNCH_CHECK_PAGE,
    ("POST", "/lti/launch/{class_id}"): LAUNCH_CHECK_PAGE,
    ("POST", "/lti/launch/{class_id}/{unit_id}"): LAUNCH_CHECK_PAGE,
    ("POST", "/lti/orgs/{org_id}/launch"): LAUNCH_CHECK_PAGE,
    ("GET", "/lti/login"): LOGIN_STORAGE_PAGE,
    ("POST", "/lti/login"): LOGIN_STORAGE_PAGE,
    ("GET", "/lti/orgs/{org_id}/login"): LOGIN_STORAGE_PAGE,
    ("POST", "/lti/orgs/{org_id}/login"): LOGIN_STORAGE_PAGE,
}

RESPONSES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("GET", "/api/idtoken"): {"application/json": {"schema": _ref("IdTokenAnswer"), "example": ID_TOKEN_13}},
    ("GET", "/api/memberships"): _json("MembershipContainer", MEMBERSHIPS_EXAMPLE),
    ("GET", "/api/lineitems"): _json("LineItemContainer", {"lineItems": [LINE_ITEM_EXAMPLE]}),
    ("POST", "/api/lineitems"): _json("LineItem", LINE_ITEM_EXAMPLE),
    ("GET", "/api/lineitems/{id}"): _json("LineItem", LINE_ITEM_EXAMPLE),
    ("PUT", "/api/lineitems/{id}"): _json("LineItem", LINE_ITEM_EXAMPLE),
    ("GET", "/api/lineitems/{id}/scores"): _json("ResultContainer", RESULTS_EXAMPLE),
    ("POST", "/api/deeplinking"): _json(
        "DeepLinkingMessage", {"message": _JWT, "target": f"{_LMS}/courses/1234/deep_linking_response"}
    ),
    ("POST", "/api/deeplinking/form"): _json("DeepLinkingForm", {"form": _FORM_EXAMPLE}),
    ("POST", "/api/console-link"): _json("ConsoleLink", CONSOLE_LINK_EXAMPLE),
    **{key: _html(page) for key, page in _LAUNCH_PAGES.items()},
}

REQUESTS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("POST", "/api/lineitems"): _json(
        "LineItemInput", {"label": "Essay", "scoreMaximum": 20, "resourceLinkId": "a6b1f7c8d3e2b1a0", "tag": "essay"}
    ),
    ("PUT", "/api/lineitems/{id}"): _json("LineItemInput", {"label": "Essay (final)", "scoreMaximum": 25}),
    ("POST", "/api/lineitems/{id}/scores"): _json("Score", _SCORE_EXAMPLE),
    ("POST", "/api/deeplinking"): _json("DeepLinkingRequest", DEEP_LINKING_REQUEST_EXAMPLE),
    ("POST", "/api/deeplinking/form"): _json("DeepLinkingRequest", DEEP_LINKING_REQUEST_EXAMPLE),
}
